"""User errors: the one family of exceptions the command line turns into one line and exit code 2.

Anything else (a bug in faithex or a library) keeps its traceback: hiding a library's ValueError behind "user
error" would hide bugs. Code that checks user input raises one of these; the messages say what is wrong and where
(file, line, key) and how to fix it.
"""

from __future__ import annotations


class FaithexError(Exception):
    """Base of every error caused by what the user passed (files, configs, data, models, paths)."""


class ConfigError(FaithexError, ValueError):
    """An experiment file or command-line option is missing or invalid."""


class DatasetError(FaithexError, ValueError):
    """A data file is missing or malformed (the message names the file, the line and the reason)."""


class ModelNotFoundError(FaithexError, FileNotFoundError):
    """The model named by the user is neither a folder, a file nor (offline) a cached hub id, or cannot be read."""


class UnknownNameError(FaithexError, ValueError):
    """A name that no registry knows (task, regime, protocol, metric); the message suggests the closest one."""


class RunDirectoryError(FaithexError):
    """A run directory that cannot be used (a file in its place, or written by a different experiment)."""
