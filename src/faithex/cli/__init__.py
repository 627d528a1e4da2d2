"""The `faithex` command line: one module per subcommand, registered on the app in `main`."""
