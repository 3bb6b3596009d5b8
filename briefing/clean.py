"""Turn scraped page text into a title, a date and the body's paragraphs.

Scraped news text carries page debris around the article: datelines, player
and share widgets, counters, photo credits, polls, related-headline lists,
tag lines, comment sections, donation pitches and author bios. Each kind is
recognised by its *shape* (a short line made of interface words, a line of
numbers, a run of title-like lines, a comma list of keywords ...), never by
matching a publisher's exact strings, so new sites need no new code.

Pure: text in, ``Cleaned`` out. Never imports I/O, the store or Prefect.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from briefing.dates import dateline_end, parse_dateline

# Words that make up interface widgets ("Listen Live", "Get short URL",
# "Share on X", "Comments (4)", "Log in to comment", "Read more" ...).
_WIDGET_WORDS = set("""
listen live audio play pause watch video podcast get short url link links copy print email e-mail
share shares shared facebook twitter x whatsapp telegram vk linkedin reddit pinterest tweet flipboard
pocket comment comments commenting reply replies respond responses discussion discuss community standards
subscribe subscription subscribed newsletter newsletters sign log login logout register up follow via
read more related advertisement advert ads ad sponsored promoted save saved bookmark font size text
leave post add no view views votes voted vote likes like reads total show hide close menu home next
previous back top download app cookies accept embed article story minute min mins rss feed alerts
notifications
""".split()) | set("""
версия для печати печать распечатать поделиться поделитесь поделись отправить скопировать ссылку ссылка
комментарии комментарий комментариев комментировать ответить обсуждение обсудить подписаться подписывайтесь
подпишитесь подписка рассылка канал канале каналы наш наши нашем наших войти вход выйти регистрация
читать читайте также ещё еще далее подробнее смотреть смотрите видео фото аудио слушать слушайте эфир
реклама скачать приложение закладки сохранить закрыть показать скрыть главная назад наверх вперед вперёд
следующая предыдущая просмотров просмотры просмотр оценить нравится мобильная шрифт размер
вконтакте вк одноклассники телеграм телеграмм дзен рутуб
""".split())
# Chinese interface words: a line made (almost) only of these is a widget ("分享到：微信 微博", "字号：大 中 小").
_WIDGET_HAN = sorted("""
分享 分享到 微信 微博 朋友圈 空间 复制 链接 复制链接 打印 字号 大 中 小 收藏 评论 点赞 转发 举报 扫一扫 扫码 二维码
关注 订阅 下载 客户端 登录 注册 首页 返回 顶部 返回顶部 上一篇 下一篇 更多 阅读 阅读全文 全文 查看 点击 展开 视频 播放
音频 收听 浏览 次 阅读量 手机 手机版 网页版 关闭 窗口 纠错 我要 打开 收起
""".split(), key=len, reverse=True)
_HAN_CHAR = re.compile(r"[\u4e00-\u9fff]")
_HAN_CHARS = re.compile(r"[\u4e00-\u9fff]+")
_STOP = {"a", "an", "the", "to", "on", "of", "for", "this", "with", "and", "our", "your", "us", "in", "it", "is", "be"}
_STOP_RU = {"в", "во", "на", "и", "с", "со", "к", "по", "о", "об", "для", "из", "от", "до", "за", "у", "а", "все",
            "всё"}
_COMMENT_WORDS = {"comment", "comments", "commenting", "reply", "replies", "respond", "responses", "discussion"}
_TERMINAL = tuple('.!?"”’»…。！？')
_CREDIT = re.compile(
    r"^(?:©|\(c\)\s|copyright\b|(?:photo|image|picture|illustration|graphic|video)s?\s*"
    r"(?:credits?)?\s*(?::|by\b|courtesy\b|/)|(?:credits?|source)\s*:|(?:getty|afp|ap|reuters|epa|tass|xinhua)"
    r"\s*(?:images)?\s*/)"
    # the same in Russian and Chinese: "Фото: ТАСС", "Фото Ивана Петрова / РИА Новости", "图片来源：…", "摄影：…"
    r"|(?:фото|фотография|иллюстрация|изображение|видео|скриншот|кадр|источник фото)\s*(?::|/)|фото\s[^.!?]{0,40}\s/\s"
    r"|[（(]?(?:图片来源|图源|图片|摄影|视频来源|来源)\s*[：:]", re.IGNORECASE)
# Rights notices, which carry no © in Russian and Chinese: "Все права защищены", "【版权声明】…转载请注明出处".
_RIGHTS = re.compile(r"все права защищены|перепечатка\b|при (?:цитировании|использовании|перепечатке)|"
                     r"版权(?:声明|所有)|转载请注明|禁止转载|未经(?:授权|许可)", re.IGNORECASE)
# Chinese captions say what the photo shows ("图为…", "上图：…") or end with its credit
# ("（资料图）", "（新华社记者 X 摄）").
_HAN_CAPTION = re.compile(r"^(?:图为|图片为|[上下左右]图[：:为]|图[：:]|组图[：:])"
                          r"|[（(][^（()）]{0,24}(?:资料图|资料照片|供图|摄|图片来源[^（()）]*|图源[^（()）]*)[)）]$")
# Editor and author lines: "（责任编辑：张明）", "编辑：李华", "Автор: Иван Петров", "Редактор Мария Соколова".
_HAN_EDITOR = re.compile(r"^[（(【\[]?\s*(?:责任编辑|责编|编辑|校对|审核|审校|监制|主编|编审|作者|记者|通讯员|实习生|"
                         r"原标题|本文来源|文|图|文/图)\s*[：:/|]\s*[^。！？]{0,40}[)）】\]]?$|^[（(]完[)）]$")
_RU_NAME = r"[А-ЯЁ][а-яёА-ЯЁ.-]*"
_BYLINE_RU = re.compile(r"^(?i:автор|авторы|текст|редактор|редакция|подготовил[аи]?|корреспондент)\s*:?\s+"
                        + _RU_NAME + r"(?:(?:\s+|\s*,\s*|\s+и\s+)" + _RU_NAME + r"){0,6}$")
_BREADCRUMB_SEP = re.compile(r"\s(?:»|›|>|/|\\|→)\s")
_TAGS = re.compile(r"^(?:tags?|topics?|keywords?|filed under|categories|category|теги|метки|ключевые слова|"
                   r"标签|关键词|关键字)\s*[:：]", re.IGNORECASE)
_RELATED = re.compile(r"^(?:related(?: stories| articles| news| coverage)?|read more|read also|also read|"
                      r"see also|more on this(?: story| topic)?|more from \w+|recommended|you may also like|"
                      r"most read|trending|"
                      # Russian and Chinese headers of the same lists
                      r"читайте также|читать также|смотрите также|см\. также|по теме|ещё по теме|еще по теме|"
                      r"новости по теме|другие новости|похожие (?:новости|материалы|статьи)|самое читаемое|"
                      r"популярное|рекомендуем|相关阅读|相关新闻|相关报道|相关文章|相关链接|延伸阅读|推荐阅读|"
                      r"热门推荐|猜你喜欢|更多精彩|热点新闻|阅读更多)\b\s*[:：]?", re.IGNORECASE)
_PERCENT = re.compile(r"(?:^|\s)\d{1,3}(?:[.,]\d+)?\s?%\s*(?:\(\s*\d[\d,.\s]*\))?\s*$")
_VOTES = re.compile(r"^(?:total\s+)?(?:votes?|voted|voters)\s*:?\s*[\d,.]+$", re.IGNORECASE)
_NAME = r"[A-Z][\w.'-]*"
_BYLINE = re.compile(r"^(?i:by|written by|author|reporting by|editing by|additional reporting by)\s*:?\s+"
                     + _NAME + r"(?:(?:\s+|\s*,\s*|\s+and\s+|\s*&\s*)" + _NAME + r"){0,6}"
                     r"(?:\s+(?i:for)\s+[^.!?]{2,60})?"  # "By Jane Roe for The Outlet"
                     r"(?:\s*[;,]\s*(?i:editing|writing) by .*)?$")
_CREDIT_LINE = re.compile(r"^\(?(?:reporting|writing|editing|additional reporting|compiled)\s+by\b[^()]*\)?$",
                          re.IGNORECASE)
_MASTHEAD_SEP = re.compile(r"\s+[|·•]\s+")
_ABOUT_AUTHOR = re.compile(r"^about the authors?\b", re.IGNORECASE)
_BIO = re.compile(r"^(?:[A-Z][\w.'-]*\s+){0,3}[A-Z][\w.'-]*\s+(?:is|has been)\s+(?:a|an|the|our)\b[^.!?]{0,80}?\b"
                  r"(?:journalist|correspondent|reporter|columnist|contributor|blogger|freelancer|"
                  # editors, writers, founders and authors are news too ("a former editor of a business daily"):
                  # a bio names the outlet or book, "the editor of The Wire", "the author of “Title”", "of two books"
                  r"(?:editor|writer|founder|author)(?=\s+(?:of|at|for)\s+(?:[“\"‘'«]|(?-i:[A-Z])|"
                  r"(?-i:[a-z]+\s+)?(?:books?|novels?|memoirs?|biograph))))\b", re.IGNORECASE)
_PITCH = re.compile(r"\b(?:support(?:s|ing|ed)?|donat\w*|contribut\w*|subscri\w*|journalism|journalists?|"
                    r"independen\w*|readers?|advertis\w*|paywall|patreon|patrons?|share|membership|"
                    r"editorial)\b")
_MEDIA_SELF = re.compile(r"\b(?:journalism|reporting|newsroom|articles|newsletter|donat\w*|subscri\w*|patreon|"
                         r"website|site|news organi[sz]ations?)\b")
# A substring of every word _MEDIA_SELF matches: a line holding none of them cannot match it.
_MEDIA_STEMS = ("site", "journalism", "reporting", "newsroom", "articles", "newsletter", "donat", "subscri",
                "patreon", "news organi")
_FIRST_PERSON = re.compile(r"\b(?:we|our|us|you|your)\b")  # these three read lowercased text: 2× faster than re.I
_QUOTES = "“”„«»\""  # reported speech: someone's words, not the page talking to the reader
_BULLET = re.compile(r"^(?:[•·▪●◦*+-]|\d{1,2}[.)])\s+")
_MD_HEADING = re.compile(r"^#{1,6}\s+")
_GLUED_SENTENCE = re.compile(r"(?<=[a-z]{2}[.!?])(?=[A-Z][a-z])")
_GLUE_HINT = re.compile(r"[.!?][A-Z]")  # a cheap scan first: most lines have no glued sentence at all
# The same hint for a whole text at once: its UTF-8 bytes with . ! ? → "." and A–Z → "A" (every other byte,
# those of non-ASCII characters included, → "x") hold b".A" where the text holds the hint.
_GLUE_BYTES = bytes(46 if chr(c) in ".!?" else 65 if "A" <= chr(c) <= "Z" else 120 for c in range(256))
_BLANKS = re.compile(r"[ \t]+")
_NON_WORDS = re.compile(r"\W+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_CYRILLIC_RUN = re.compile(r"[а-яёА-ЯЁ][а-яёА-ЯЁ-]*")
_LETTER = re.compile(r"[^\W\d_]")
_WORD_RUN = re.compile(r"\w+")


@dataclass(frozen=True)
class Cleaned:
    """What cleaning kept: the article's own title, date and paragraphs."""

    title: str | None
    published: datetime | None
    paragraphs: tuple[str, ...]
    dropped: tuple[tuple[str, str], ...] = ()  # (reason, line), for debugging and tests

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


@dataclass(slots=True)  # one per line of every text: slots make them cheaper to build and read
class _Line:
    text: str
    block: int
    reason: str | None = None  # None: content; else why it is debris
    heading: bool = False  # a markdown heading or an HTML title


def clean_text(text: str, *, markdown: bool = False, title: str | None = None) -> Cleaned:
    """Strip page debris from ``text`` and find its title and dateline.

    Args:
        text: plain text with one paragraph per line or per blank-line block.
        markdown: read ``#`` headings, links and emphasis as Markdown.
        title: the title the source already gave (a feed entry's): only a line
            repeating it is taken out, so a one-line dek that reads like a
            headline stays the body.
    """
    lines = _split(text, markdown)
    published = None
    for line in lines:
        _classify(line)
        if line.reason == "dateline" and published is None:
            published = parse_dateline(line.text)
    _mark_polls(lines)
    _mark_captions(lines)
    _mark_headline_runs(lines)
    _mark_tail(lines)
    _mark_repeats(lines)
    title = _take_title(lines) if title is None else _drop_title(lines, title)
    paragraphs = _paragraphs(lines)
    dropped = tuple((ln.reason, ln.text) for ln in lines if ln.reason and ln.reason != "title")
    end = dateline_end(paragraphs[0]) if paragraphs else 0
    if end:  # "新华社北京11月17日电（记者 王某）" opening the first paragraph: where it was filed, not news
        dropped += (("dateline", paragraphs[0][:end].strip()),)
        paragraphs[0] = paragraphs[0][end:]
    return Cleaned(title=title, published=published, paragraphs=tuple(paragraphs), dropped=dropped)


def derive_title(lead: str, max_words: int = 12) -> str:
    """A short title from the lead: its first sentence or clause, else cut at a word boundary.

    Attribution tails ("..., analysts said.") are dropped first, because a
    headline states the claim, not who made it.
    """
    if not lead.isascii() and _HAN_CHAR.search(lead):
        return _derive_han_title(lead)
    first = re.split(r"(?<=[.!?])\s+(?=[A-Z“\"])", lead.strip(), maxsplit=1)[0]
    first = re.sub(r",\s+(?:\S+\s+){0,4}(?:said|says|reported|reports|told \S+|according to .+)\.?$",
                   "", first)
    first = first.rstrip(" .;:,")
    words = first.split()
    if len(words) <= max_words + 2:
        return first
    clause = re.split(r"[,;:–—]\s", first, maxsplit=1)[0].split()
    if 6 <= len(clause) <= 18:
        return " ".join(clause)
    cut = words[:max_words]
    while cut and cut[-1] in _STOP | {"and", "or", "but", "as", "by", "from", "at", "that"}:
        cut.pop()
    return " ".join(cut).rstrip(",;:") + "…"


def _derive_han_title(lead: str, most: int = 30) -> str:
    """The Chinese lead's first sentence; if long, its first clause; else its first ``most`` characters."""
    first = re.split(r"(?<=[。！？])", lead.strip(), maxsplit=1)[0].rstrip("。！？ ")
    if len(first) <= most:
        return first
    clause = re.split(r"[，；：]", first, maxsplit=1)[0]
    return clause if 6 <= len(clause) <= most else first[:most] + "…"


# --- line splitting -------------------------------------------------------

def _split(text: str, markdown: bool) -> list[_Line]:
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\xa0", " ").replace("\u200b", "").replace("\ufeff", "")
    # Markdown's markup, once removed, can bring a full stop and a capital together; plain text is asked once.
    glued = markdown or b".A" in text.encode("utf-8", "surrogatepass").translate(_GLUE_BYTES)
    lines: list[_Line] = []
    block = 0
    for raw in text.split("\n"):
        line = (_BLANKS.sub(" ", raw) if "\t" in raw or "  " in raw else raw).strip()
        if not line:
            block += 1
            continue
        heading = False
        if markdown:
            line, heading = _unmarkdown(line)
            if not line:
                continue
        if glued and _GLUE_HINT.search(line):
            line = _GLUED_SENTENCE.sub(" ", line)
        lines.append(_Line(line, block, heading=heading))
    return lines


def _unmarkdown(line: str) -> tuple[str, bool]:
    heading = bool(_MD_HEADING.match(line))
    line = _MD_HEADING.sub("", line)
    line = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", line)          # images
    line = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", line)       # links -> their text
    line = re.sub(r"(\*\*|__)(.+?)\1", r"\2", line)            # bold
    line = re.sub(r"(?<![\w*])([*_])(?!\s)(.+?)(?<!\s)\1(?![\w*])", r"\2", line)  # emphasis
    line = re.sub(r"^>\s?", "", line)                          # block quotes
    if re.fullmatch(r"[-*_=]{3,}", line):                       # rules
        return "", False
    return line.strip(), heading


# --- rules on one line ------------------------------------------------------

def _words(text: str) -> list[str]:
    spaced = _CAMEL.sub(" ", text)  # "standardsDiscussion" -> two words
    words = _LATIN_WORD.findall(spaced)
    if not text.isascii():
        words += _CYRILLIC_RUN.findall(text)
    return words


_ASCII_SPACES = tuple(c for c in map(chr, range(128)) if c.isspace() and c != " ")


def single_spaced(text: str) -> bool:
    """Whether the only whitespace in ``text`` is single spaces between words: then ``text.split()`` is
    ``text.split(" ")``, and ``" ".join(text.split())`` is ``text``.

    In ASCII each other whitespace character is looked for on its own (a memchr each); otherwise
    ``isprintable()`` is False for every whitespace character but the space (no-break and other spaces too).
    """
    if text.isascii():
        if any(space in text for space in _ASCII_SPACES):
            return False
    elif not text.isprintable():
        return False
    return "  " not in text and not text.startswith(" ") and not text.endswith(" ")


def _split_count(text: str) -> int:
    """``len(text.split())`` without building the list of words when ``text`` is single-spaced."""
    if single_spaced(text):
        return text.count(" ") + 1 if text else 0
    return len(text.split())


@functools.lru_cache(maxsize=8192)  # each line's size is asked by several rules
def _size(text: str) -> int:
    """Words in ``text``; Chinese writes no spaces, so there about one word per two Han characters."""
    if text.isascii() or not _HAN_CHAR.search(text):
        return _split_count(text)
    han = sum(map(len, _HAN_CHARS.findall(text)))
    return len(_HAN_CHARS.sub(" ", text).split()) + (han + 1) // 2


def _is_han_widget(text: str) -> bool:
    """A short Chinese line made (almost) only of interface words, whatever separates them."""
    if len(text) > 40 or text.endswith(("。", "！", "？")):
        return False
    han = sum(map(len, _HAN_CHARS.findall(text)))
    if han < 2:
        return False
    rest = text
    for term in _WIDGET_HAN:
        rest = rest.replace(term, " ")
    return sum(map(len, _HAN_CHARS.findall(rest))) * 4 <= han


def _quoted(text: str) -> bool:
    """Whether ``text`` holds a quotation mark: one substring search per mark is faster than a regex class."""
    return any(mark in text for mark in _QUOTES)


def _is_sentence(text: str) -> bool:
    return text.endswith(_TERMINAL) or _size(text) >= 25


def _headline_like(text: str) -> bool:
    n = _size(text)
    return 2 <= n <= 20 and (not text.endswith(_TERMINAL + tuple(":;,")) or text.endswith("?"))


def _is_widget(text: str) -> bool:
    if text.endswith(".") or text.count(" ") > 12:  # cheap exits before tokenising
        return False
    if not text.isascii() and _HAN_CHAR.search(text):
        return False  # Chinese: its Latin words ("APP", "QQ") are the least of it; _is_han_widget reads it
    words = [w.lower() for w in _words(text)]
    content = [w for w in words if (w not in _STOP and w not in _STOP_RU) or w in _WIDGET_WORDS]
    if not content or len(words) > 7 or text.endswith("."):
        return False
    hits = sum(w in _WIDGET_WORDS for w in content)
    return hits / len(content) >= 0.75


def _is_tag_line(text: str) -> bool:
    if _TAGS.match(text):
        return True
    if text.count(",") < 4 or text.endswith("."):  # fewer than five items: no list to split
        return False
    items = [i.strip() for i in text.split(",")]
    if not all(items):
        return False
    sizes = [_size(i) for i in items]
    return max(sizes) <= 6 and sum(sizes) / len(sizes) <= 3.5


def _classify(line: _Line) -> None:
    text = line.text
    n = _size(text)
    if n <= 12 and len(text) <= 200 and parse_dateline(text.lstrip("|•·-– ")) is not None:
        line.reason = "dateline"
    elif not _LETTER.search(text):
        line.reason = "counter"
    elif _is_widget(text) or (not text.isascii() and _is_han_widget(text)):
        line.reason = "widget"
    elif _VOTES.match(text):
        line.reason = "poll"
    elif n <= 25 and ("©" in text or _CREDIT.match(text) or (not text.isascii() and _RIGHTS.search(text))):
        line.reason = "credit"
    elif n <= 40 and not text.isascii() and _HAN_CAPTION.search(text):
        line.reason = "caption"
    elif n <= 25 and (text.lower().startswith(("you are here", "当前位置", "您的位置", "вы здесь"))
                      or len(_BREADCRUMB_SEP.findall(text)) >= 2):
        line.reason = "breadcrumb"
    elif _is_tag_line(text):
        line.reason = "tags"
    elif (n <= 10 and (_BYLINE.match(text) or _ABOUT_AUTHOR.match(text))) or (n <= 30 and _CREDIT_LINE.match(text)):
        line.reason = "byline"
    elif n <= 25 and not text.isascii() and (_HAN_EDITOR.match(text) or _BYLINE_RU.match(text)):
        line.reason = "byline"
    elif _is_pitch(text):
        line.reason = "pitch"
    elif _is_masthead(text):
        line.reason = "masthead"
    elif not _is_sentence(text) and n <= 15 and re.search(r"\bour\b", text, re.I) \
            and any(w.lower() in _WIDGET_WORDS for w in _words(text)):
        line.reason = "promo"  # "check the latest alerts on our live page"


def _is_masthead(text: str) -> bool:
    """Outlet and section labels: "Northwind Wire | Markets", "Monitor · Defence"."""
    if "|" not in text and "·" not in text and "•" not in text:
        return False
    parts = _MASTHEAD_SEP.split(text)
    return len(parts) >= 2 and all(1 <= _size(p) <= 3 for p in parts)


_PITCH_MAX_WORDS = 120  # the longest donation appeal in the tests' fixtures is ~70 words


def _is_pitch(text: str) -> bool:
    """A paragraph asking the reader for money or engagement on the outlet's behalf.

    A pitch is a paragraph, not an article: a longer line (a page flattened to one line, its sign-up
    box glued to the story) is never dropped whole for the pitch words in it.
    """
    if _size(text) > _PITCH_MAX_WORDS or _quoted(text):  # the size is cached: asked first
        return False
    lower = text.lower()
    # The outlet naming itself is the rarest of the three signs, and its stems are found by plain substring
    # search (no regex tries each position): asked first, so most paragraphs are settled without a regex.
    if not any(map(lower.__contains__, _MEDIA_STEMS)) or not _MEDIA_SELF.search(lower):
        return False
    return bool(_FIRST_PERSON.search(lower)) and len(set(_PITCH.findall(lower))) >= 2


# --- rules on neighbourhoods -------------------------------------------------

def _content(lines: list[_Line]) -> list[_Line]:
    return [ln for ln in lines if ln.reason is None]


def _mark_polls(lines: list[_Line]) -> None:
    """A question, its options and their "68.3% (1559)" results."""
    hits = [i for i, ln in enumerate(lines) if "%" in ln.text and _PERCENT.search(ln.text) and _size(ln.text) <= 20]
    if len(hits) < 2:
        return
    groups: list[list[int]] = [[hits[0]]]
    for i in hits[1:]:
        if i - groups[-1][-1] <= 3:
            groups[-1].append(i)
        else:
            groups.append([i])
    for group in groups:
        if len(group) < 2:
            continue
        start = group[0]
        for j in range(group[0] - 1, max(-1, group[0] - 12), -1):
            if lines[j].text.endswith("?"):
                start = j
                break
        else:
            start = max(0, group[0] - 1) if not _is_sentence(lines[group[0] - 1].text) else group[0]
        end = group[-1]
        while end + 1 < len(lines) and (_VOTES.match(lines[end + 1].text) or lines[end + 1].reason == "poll"):
            end += 1
        for ln in lines[start:end + 1]:
            ln.reason = ln.reason or "poll"


def _mark_captions(lines: list[_Line]) -> None:
    """The short caption line right above (or else below) a photo credit.

    A caption printed in one block with its credit is that line, even when it
    is a full sentence; a body paragraph is in a block of its own (when the
    text has blocks at all: one paragraph per line makes the whole text one).
    """
    blocks = len({ln.block for ln in lines}) > 1
    for i, line in enumerate(lines):
        if line.reason != "credit":
            continue
        prev = lines[i - 1] if i > 0 else None
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        if blocks and prev is not None and prev.reason is None and _size(prev.text) <= 20 and i > 1 \
                and prev.block == line.block:
            prev.reason = "caption"
        elif blocks and nxt is not None and nxt.reason is None and _size(nxt.text) <= 20 \
                and nxt.block == line.block:
            nxt.reason = "caption"
        elif prev is not None and prev.reason is None and not _is_sentence(prev.text) \
                and _size(prev.text) <= 15 and i > 1:
            prev.reason = "caption"
        elif nxt is not None and nxt.reason is None and _size(nxt.text) <= 20 \
                and len(re.findall(r"[.!?](?:\s|$)", nxt.text)) <= 1 \
                and not (blocks and prev is not None and prev.reason is None and prev.block == line.block):
            nxt.reason = "caption"


def _mark_headline_runs(lines: list[_Line]) -> None:
    """Lists of related headlines: a "Related:" header, or 3+ title-like lines in a row."""
    content = [ln for ln in lines if ln.reason in (None, "widget")]
    i = 0
    while i < len(content):
        if content[i].reason == "widget":
            if _RELATED.match(content[i].text):
                content[i].reason = "related"
                j = i + 1
                while j < len(content) and content[j].reason is None \
                        and _headline_like(_BULLET.sub("", content[j].text)):
                    content[j].reason = "related"
                    j += 1
                i = j
            else:
                i += 1
            continue
        if _size(content[i].text) <= 8 and _RELATED.match(content[i].text):  # the size is cached: asked first
            content[i].reason = "related"
            j = i + 1
            while j < len(content) and _headline_like(_BULLET.sub("", content[j].text)):
                content[j].reason = "related"
                j += 1
            i = j
            continue
        j = i
        while j < len(content) and content[j].reason is None and _headline_like(content[j].text) \
                and not _BULLET.match(content[j].text):
            j += 1
        if j - i >= 3 and not (i == 0 and j - i <= 3):
            for ln in content[i:j]:
                ln.reason = "related"
        i = max(j, i + 1)


def _mark_tail(lines: list[_Line]) -> None:
    """Comment sections, promos and author bios at the end of the page, after the article's body.

    Each needs a body sentence above it: a "Comments (4)" counter under the
    title of a short article is a widget, not the start of the comments.
    """
    if not lines:
        return
    half = len(lines) // 2
    body_before = [False] * len(lines)
    seen = False
    for i, line in enumerate(lines):
        body_before[i] = seen
        seen = seen or (line.reason is None and not line.heading and _is_sentence(line.text))
    for i in range(half, len(lines)):
        line = lines[i]
        if line.reason in ("widget", None) and body_before[i] and _is_widget(line.text) \
                and {w.lower() for w in _words(line.text)} & _COMMENT_WORDS:
            for ln in lines[i:]:
                ln.reason = ln.reason or "comments"
            break
    for i in range(max(half, 1), len(lines)):
        line, prev = lines[i], lines[i - 1]
        if line.reason is None and prev.reason in ("widget", "pitch", "promo") and not _quoted(line.text) \
                and _size(line.text) <= 20 and re.search(r"\byou(?:r)?\b", line.text, re.I):
            line.reason = "promo"  # "Get the top stories in your inbox" under "Subscribe"
    for i in range(half, len(lines)):
        line = lines[i]
        if line.reason == "byline" and _ABOUT_AUTHOR.match(line.text):
            for ln in lines[i + 1:i + 3]:
                if ln.reason is None and (_BIO.match(ln.text) or _size(ln.text) <= 6):
                    ln.reason = "bio"
        elif line.reason is None and body_before[i] and _BIO.match(line.text):
            line.reason = "bio"


# ASCII's non-word characters (what \W matches there) → a space, and capitals → small letters, in one
# bytes.translate (several times faster than the regex, and than str.translate with a dict).
_ASCII_KEY = bytes(c if chr(c).isalnum() or chr(c) == "_" else 32 for c in range(128)).lower() + bytes(range(128, 256))


def _repeat_key(text: str) -> str:
    """The words of a line, lowercased: two lines with the same words are one paragraph shown twice."""
    if text.isascii():
        key = text.encode("ascii").translate(_ASCII_KEY)  # only spaces are left between the words
        while b"  " in key:  # runs of spaces halve with each pass: faster than splitting into words
            key = key.replace(b"  ", b" ")
        return key.strip().decode("ascii")
    return _NON_WORDS.sub(" ", text).strip().lower()


def _mark_repeats(lines: list[_Line]) -> None:
    """Repeated paragraphs (a standfirst shown twice) and pull quotes.

    A pull quote is a short line that repeats words of a body paragraph; the
    short attribution line under it goes with it.
    """
    seen: set[str] = set()
    content = _content(lines)
    bodies = [ln.text for ln in content if _is_sentence(ln.text) and _size(ln.text) >= 15]
    for k, line in enumerate(content):
        key = _repeat_key(line.text)
        if key in seen:
            line.reason = "repeat"
            continue
        seen.add(key)
        n = _size(line.text)
        if 4 <= n <= 20 and not line.heading and any(line.text.rstrip(".") in b and b != line.text for b in bodies):
            line.reason = "pull-quote"
            nxt = content[k + 1] if k + 1 < len(content) else None
            if nxt is not None and not _is_sentence(nxt.text) and _size(nxt.text) <= 12:
                nxt.reason = "pull-quote"


def _take_title(lines: list[_Line]) -> str | None:
    """The first title-like line before the body starts, removed from the body."""
    head: list[_Line] = []
    for line in _content(lines):
        if _is_sentence(line.text) and not line.heading:
            break
        head.append(line)
    chosen = next((ln for ln in head if ln.heading), None) or next(
        (ln for ln in head if _headline_like(ln.text) and _size(ln.text) >= 3), None)
    if chosen is None:
        return None
    for line in head[:head.index(chosen)]:
        line.reason = "masthead"
    chosen.reason = "title"
    return chosen.text.strip()


def _drop_title(lines: list[_Line], title: str) -> str:
    """Take out the lines before the body that repeat the known ``title``; returns it."""
    key = _title_key(title)
    for line in _content(lines):
        same = _same_title(line.text, key)
        if _is_sentence(line.text) and not line.heading and not same:
            break
        if key and same:
            line.reason = "title"
    return title.strip()


def _title_key(text: str) -> str:
    return " ".join(_WORD_RUN.findall(text.casefold()))


def _same_title(text: str, key: str) -> bool:
    """``_title_key(text) == key``, without reading all of a long body paragraph.

    Case folding is per character and words are runs of word characters, so the
    key of a prefix of ``text`` is a prefix of the key of ``text``: a head whose
    key is already longer than ``key``, or departs from it, settles the answer.
    """
    cut = 2 * len(key) + 16
    if len(text) > cut:
        head = _title_key(text[:cut])
        if len(head) > len(key) or not key.startswith(head):
            return False
    return _title_key(text) == key


def _paragraphs(lines: list[_Line]) -> list[str]:
    """Join hard-wrapped lines of one block; keep one paragraph per line otherwise."""
    out: list[str] = []
    prev: _Line | None = None
    for line in lines:
        if line.reason is not None:
            prev = None
            continue
        if (prev is not None and prev.block == line.block and out
                and (line.text[:1].islower() or (len(prev.text) >= 40 and not prev.text.endswith(_TERMINAL)))):
            out[-1] = out[-1] + " " + line.text
        else:
            out.append(line.text)
        prev = line
    return out
