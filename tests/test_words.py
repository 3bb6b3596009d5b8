"""Words and cross-language keys in English, Russian and Chinese (briefing/words.py), on our own sentences."""

from __future__ import annotations

from briefing.words import analyse


def test_russian_forms_share_one_stem() -> None:
    """Путин / Путина / Путину / Путиным are one word, so two Russian reports share it."""
    words = analyse("Путин, Путина, Путину, Путиным").words
    assert len(set(words)) == 1


def test_russian_nouns_and_surnames_in_every_case_share_one_stem() -> None:
    """Snowball alone cuts Китай to кита but Китая to кит, and Лавров to лавр but Лаврова to лавров:
    stemmed twice, every case of the noun and of the surname is one word."""
    for forms in ("Китай, Китая, Китаю, Китаем, Китае", "Лавров, Лаврова, Лаврову, Лавровым, Лаврове",
                  "Шанхай, Шанхая, Шанхаю", "Газпром, Газпрома, Газпрому"):
        assert len(set(analyse(forms).words)) == 1, forms


def test_a_declined_russian_surname_meets_its_english_spelling() -> None:
    """The consonant skeleton is taken from the surname without its case ending (Лавровым → лавров),
    so Лавров, Лаврова and Lavrov share ~lvrv, and Медведева meets Medvedev, names outside the lexicon too."""
    english = set(analyse("Lavrov met Medvedev and Kadyrov").keys)
    for text in ("Лавров встретился с Медведевым", "У Лаврова и Медведева", "Лавров, Медведев"):
        keys = set(analyse(text).keys)
        assert {"~lvrv", "~mdvdv"} <= keys & english, text
    assert "~kdrv" in english and "~kdrv" in set(analyse("с Кадыровым").keys)


def test_chinese_is_cut_into_words() -> None:
    """A Chinese sentence is several words, not one run of characters up to the comma."""
    words = analyse("中俄两国元首在北京举行会谈，双方签署了多项合作文件。").words
    assert len(words) >= 8 and {"北京", "元首", "双方"} <= set(words) and all(len(w) <= 4 for w in words)


def test_one_name_in_three_scripts_is_one_key() -> None:
    """The lexicon links the same person across languages; a transliterated name shares its skeleton."""
    keys = [set(analyse(t).keys) for t in ("Putin met Trump", "Путин встретился с Трампом", "普京会见特朗普")]
    assert all({"@putin", "@trump"} <= k for k in keys)
    assert "~trmp" in keys[0] and "~trmp" in keys[1]


def test_longest_chinese_form_wins() -> None:
    """白俄罗斯 is Belarus and 俄亥俄 is Ohio: neither is Russia."""
    assert "@russia" not in analyse("白俄罗斯总统访问俄亥俄州").keys
    assert {"@belarus", "@ohio"} <= set(analyse("白俄罗斯总统访问俄亥俄州").keys)
    assert "@russia" in analyse("俄罗斯总统").keys


def test_acronyms_match_only_in_capitals() -> None:
    """"US" and "WHO" are the country and the agency; "us" and "who" are English words."""
    assert {"@usa", "@who"} <= set(analyse("The US and the WHO said").keys)
    assert not {"@usa", "@who"} & set(analyse("Tell us who said it").keys)


def test_amounts_and_dates_agree_across_languages() -> None:
    """260 亿 = 26 billion = 26 млрд; 12 月 18 日 = December 18 = 18 декабря."""
    keys = [set(analyse(t).keys) for t in ("Investment rose to $26 billion on December 18",
                                            "18 декабря инвестиции выросли до 26 млрд долларов",
                                            "12 月 18 日，投资增至 260 亿美元")]
    assert all({"#2.6e+10", "date:12-18"} <= k for k in keys)


def test_spokespeople_and_officials_are_one_key_in_three_scripts() -> None:
    """The officials who speak for each side are named the same way across languages, inflected or not."""
    pairs = [("Maria Zakharova said Moscow welcomed the plan", "Захаровой задали вопрос о плане",
              "扎哈罗娃表示欢迎该计划", "@zakharova"),
             ("Mao Ning told reporters in Beijing", "Мао Нин заявила журналистам", "外交部发言人毛宁表示", "@mao ning"),
             ("Vice-President Han Zheng arrived", "Вице-председатель Хань Чжэн прибыл", "国家副主席韩正抵达",
              "@han zheng")]
    for *texts, key in pairs:
        assert all(key in analyse(t).keys for t in texts), key


def test_english_stop_words_are_scikit_learns() -> None:
    # a copy in briefing/data, so a stage command need not import scikit-learn (seconds): the same words
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS as theirs

    from briefing.words import ENGLISH_STOP_WORDS

    assert ENGLISH_STOP_WORDS == theirs and "the" in ENGLISH_STOP_WORDS


def test_chinese_words_are_the_words_analyse_finds_in_a_han_run() -> None:
    from briefing.words import chinese_words

    run = "俄罗斯总统普京与中国国家主席习近平在莫斯科举行会谈双方签署了能源合作协议" * 3
    assert chinese_words(run) == analyse(run).words
    assert "普京" in chinese_words(run)
    long = "中俄两国元首会谈" * 400  # longer than analyse reads: cut at the same place
    assert chinese_words(long) == analyse(long).words


def test_a_short_russian_stem_is_a_name_only_where_the_word_is_that_name() -> None:
    """Stemmed twice, Дания and данные are both дан, Судан and суд суд, Армения and армия арм, Газа and газ газ:
    the name counts only as its own word (and, for a country or place, written with a capital)."""
    assert not {"@denmark", "@sudan", "@slovenia", "@new delhi", "@palestine", "@armenia"} & set(
        analyse("По данным суда, по словам министра, дело о поставках газа и армии передано").keys)
    assert {"@denmark", "@sudan", "@slovenia", "@palestine", "@armenia", "@army"} <= set(
        analyse("Дания, Судана, Словении, в Газе, Армении; армия").keys)
    assert "@new year" not in analyse("новый закон").keys  # the lexicon's "новый год" less its stop word
    assert {"@china", "@wang yi", "@moscow"} <= set(analyse("Ван И из Китая прибыл в Москву; китайский").keys)


def test_russian_scales_written_out_are_the_abbreviated_ones() -> None:
    """One outlet writes "2,2 млн", another "2,2 миллиона": the same amount key."""
    for short, long in [("2,2 млн баррелей", "2,2 миллиона баррелей"), ("11 млрд м³", "11 миллиардов м³"),
                        ("30 тыс. гостей", "30 тысяч гостей"), ("12 трлн рублей", "12 триллионов рублей")]:
        assert {k for k in analyse(short).keys if "e+" in k} == {k for k in analyse(long).keys if "e+" in k} != set()


def test_amounts_agree_when_written_out_or_after_a_han_character() -> None:
    """500,000 = 500 тыс; 3880万 right after a Han character (no space) = 38,8 млн; a year is no amount."""
    def amounts(text: str) -> set[str]:
        return {k for k in analyse(text).keys if "e+" in k}

    assert amounts("cut by 500,000 barrels") == amounts("сократить на 500 тыс. баррелей") == {"#5e+05"}
    assert "#3.88e+07" in amounts("日供气量达到3880万立方米") & amounts("поставки составили 38,8 млн кубометров")
    assert "#1.9e+11" in amounts("中俄贸易额为1905亿美元") & amounts("составил 190,5 млрд долларов")
    assert "#1.5e+03" in amounts("1500 firms") & amounts("1,5 тыс. компаний")
    assert not amounts("in 2026") and "#2e+03" in amounts("2,000 videos")


def test_russian_words_that_stem_as_a_name_are_no_concepts() -> None:
    """«Ранее» (earlier) stems as ранен (injured) did, «Газ» opening a sentence is gas, not Gaza, the name
    Даниил is not Дания, and грузовой (cargo) is not Грузия; the names themselves, declined, still count."""
    keys = set(analyse("Ранее сообщалось о поставках. Газ идет по трубопроводу. Даниил принял грузовой состав").keys)
    assert not {"@injured", "@palestine", "@denmark", "@georgia"} & keys and "@gas" in keys
    assert {"@palestine", "@denmark", "@georgia", "@sudan", "@lavrov"} <= set(
        analyse("Удары по Газе; в Дании, в Грузии, из Судана; Лаврова").keys)


def test_a_russian_x_is_ks_in_a_name_skeleton() -> None:
    """Alexander = Александр, Alexei = Алексей: English writes кс as x."""
    assert "~lksndr" in analyse("Alexander Novak").keys and "~lksndr" in analyse("Александр Новак").keys
