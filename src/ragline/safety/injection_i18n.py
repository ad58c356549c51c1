# ruff: noqa: RUF001  (homoglyphs and other scripts are the subject here)
"""Prompt injection in languages other than English: the same families as
`injection` (override earlier instructions, ask for the system prompt, re-assign
the role, jailbreak vocabulary, address the model), written per language.

Each override row wants the three parts an injection has and an ordinary
sentence about instructions lacks: a verb that throws instructions away, a word
that points at *earlier* or *all* of them, and the instructions themselves.
"Siga as instruções anteriores" (follow the previous instructions) has no such
verb; "比较字符串时忽略大小写" (ignore case when comparing) has no instructions.

Patterns are NFKC-normalised like the text they run on (see `normalize`).
A row runs only when its text could match: Latin rows when one of their
needles (lowercase substrings every match contains) is present, the rows of
another script when a character of that script is.
"""

from __future__ import annotations

import re
import unicodedata

from ragline.safety.findings import Finding, without_overlaps


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(unicodedata.normalize("NFKC", pattern))


_PT_WHAT = (
    r"(?:instru[cç](?:ões|oes|ão|ao)|regras|orienta[cç](?:ões|oes)|diretrizes|diretivas"
    r"|comandos|prompts?|restri[cç](?:ões|oes))"
)
_SYSTEM_PROMPT_WORDS = (
    r"(?:prompt (?:système|systeme|del sistema|di sistema|de sistema|do sistema)"
    r"|system-?prompt|systeemprompt|instru[cç](?:ões|oes) (?:iniciais|originais|ocultas"
    r"|secretas|do sistema)|instrucciones (?:iniciales|originales|ocultas|del sistema))"
)

# Latin-script languages: Portuguese, French, Spanish, Italian, German, Dutch, Turkish,
# Hindi written in Latin letters (Hinglish).
_LATIN = [
    (
        "override_multilingual",
        _rx(
            r"(?i)\b(?:ignor[ea]\w*|desconsider[ea]\w*|esque[cç]a\w*|esquece\w*|descart[ea]\w*"
            r"|desobede[cç]a\w*|despreze\w*|abandone)\b[\w\s,]{0,25}?"
            r"\b(?:todas?|todos|as|os|suas|seus|tuas|teus|quaisquer|essas|estas)\b[\w\s]{0,20}?"
            rf"\b{_PT_WHAT}\b"
        ),
    ),
    (
        "override_multilingual",
        _rx(
            r"(?i)\b(?:negeer|vergeet)\b[\w\s]{0,30}?\b(?:instructies|regels|richtlijnen"
            r"|opdrachten)\b"
            r"|\bvergiss\w*\s+alles\b[\w\s,]{0,40}\b(?:gesagt|gegeben|erklärt|vorher|zuvor)\b"
            r"|\b(?:önceki|tüm|bütün|yukarıdaki)\b[\w\s]{0,25}?\btalimat\w*[\w\s]{0,12}?"
            r"\b(?:yok say|görmezden gel|unut)\w*"
            r"|\b(?:pichle|pichhle|purane|saare|sare|sabhi)\b[\w\s]{0,25}?"
            r"\b(?:instructions?|nirdesh|rules|niyam)\b[\w\s]{0,10}?\b(?:ignore|bhool|bhul)\w*"
        ),
    ),
    (
        "system_prompt",
        _rx(
            r"(?i)\b(?:revel[ea]\w*|mostr[ea]\w*|exib[ae]\w*|imprim[ae]\w*|repit[ae]\w*|diga"
            r"|copie|affiche\w*|montre\w*|révèle\w*|donne\w*|muestra\w*|revela\w*|dime"
            r"|rivela\w*|mostra\w*|zeige?\w*|verrate?\w*|gib|toon|laat)\b"
            rf"[\w\s]{{0,30}}?\b{_SYSTEM_PROMPT_WORDS}"
            r"|\bsistem istem\w*\s+göster\w*"
        ),
    ),
    (
        "role_change",
        _rx(
            r"(?i)\b(?:ab (?:jetzt|sofort) bist du|von nun an bist du|désormais,? tu es"
            r"|à partir de maintenant,? tu es|a partir de ahora,? eres"
            r"|de ahora en adelante,? eres|da ora in poi,? sei|vanaf nu ben je"
            r"|a partir de agora,? (?:você|voce|tu) (?:é|e|és|es|vai|será|sera|passa))\b"
        ),
    ),
    (
        "jailbreak",
        _rx(
            r"(?i)\b(?:responda|responde|respondas|réponds|répondez|antworte|rispondi|antwoord"
            r"|fale|habla|parle|sprich|ia|ki|ai|assistente|assistant|asistente|modelo|modèle"
            r"|modell|modello|bot)\b[\w\s]{0,20}?"
            r"\b(?:sem|sin|sans(?: aucune?)?|ohne|senza|zonder)\s+"
            r"(?:nenhuma\s+|ninguna\s+|alcuna\s+|jegliche\s+)?"
            r"(?:restri[cç](?:ões|oes|ão|ao)|restricciones|restrictions?|filtros?|filtres?"
            r"|einschränkungen|filter|restrizioni|limites|limiti|beperkingen|censura|zensur)\b"
        ),
    ),
    (
        "addresses_the_model",
        _rx(
            r"(?i)\b(?:nota|mensagem|instru[cç](?:ões|ão)) (?:para|à) (?:a |o |qualquer )?"
            r"(?:ia|assistente|modelo|chatbot)\b"
            r"|\b(?:note|message) (?:pour|à) (?:l'|le |la )?(?:ia|assistant|modèle)\b"
        ),
    ),
]

_ZH_VERB = (
    "忽略|忽視|忽视|无视|無視|不要理会|不要理會|别理|別理|忘记|忘記|忘掉|放弃|放棄|跳过|跳過"
    "|抛开|拋開|不要遵守|不再遵守|不要遵循|不用管"
)
_ZH_WHICH = (
    "之前|以前|先前|此前|上面|以上|上述|前面|前述|所有|全部|一切|你的|原来|原來|原有|系统|系統"
    "|默认|默認"
)
_ZH_WHAT = (
    "指令|指示|说明|說明|提示词|提示詞|提示|规则|規則|命令|设定|設定|要求|限制|约束|約束|规定|規定"
)
_ZH_PROMPT = (
    "系统提示词?|系統提示詞?|系统消息|系統訊息|初始指令|原始指令|隐藏指令|隱藏指令|系统设定"
    "|系統設定|系统指令|系統指令"
)
_ZH_SHOW = (
    "输出|輸出|显示|顯示|打印|告诉我|告訴我|重复|重複|泄露|洩露|透露|给我|給我|展示|说出|說出"
    "|复述|複述|发给|發給"
)
_ZH_AI = "AI|人工智能|助手|模型|大模型|机器人|機器人|语言模型|語言模型"
_NOT_END = r"[^。！？!?\n]"

# Chinese, Japanese, Korean, Russian, Hindi.
_OTHER_SCRIPTS = [
    (
        "override_multilingual",
        _rx(
            rf"(?:{_ZH_VERB}){_NOT_END}{{0,12}}?(?:{_ZH_WHICH}){_NOT_END}{{0,10}}?(?:{_ZH_WHAT})"
            # 把之前的指示全部忘掉: the instructions first, the verb after
            rf"|(?:{_ZH_WHICH}){_NOT_END}{{0,10}}?(?:{_ZH_WHAT}){_NOT_END}{{0,8}}?"
            r"(?:忘掉|忘记|忘記|忽略|无视|無視|抛开|拋開|丢掉|丟掉|扔掉)"
            r"|(?:以前|前|上記|これまで|今まで|全て|すべて|最初)の[^。\n]{0,12}?"
            r"(?:指示|命令|指令|ルール|プロンプト|設定|制約|規則)[^。\n]{0,8}?(?:無視|忘れ)"
            r"|(?:이전|앞|위|기존|모든|지금까지)[^.\n]{0,12}?(?:지시|지침|명령|규칙|프롬프트|설정|제한)"
            r"[^.\n]{0,12}?(?:무시|잊어|잊고)"
            r"|(?i:\b(?:игнорируй\w*|проигнорируй\w*|забудь\w*|отбрось\w*|не обращай внимания на"
            r"|не следуй|пренебреги|отмени)\b[\w\s,]{0,40}?\b(?:инструкци\w*|указани\w*|правил\w*"
            r"|промпт\w*|команд\w*|директив\w*|ограничени\w*))"
            r"|(?:पिछले|पिछली|पूर्व|सभी|सारे|ऊपर)[^।\n]{0,25}?(?:निर्देशों|निर्देश|नियमों|नियम|आदेशों|आदेश)"
            r"[^।\n]{0,12}?(?:अनदेखा|नजरअंदाज|नज़रअंदाज़|भूल|उपेक्षा)"
        ),
    ),
    (
        "system_prompt",
        _rx(
            rf"(?:{_ZH_SHOW}){_NOT_END}{{0,12}}?(?:{_ZH_PROMPT})"
            rf"|(?:{_ZH_PROMPT}){_NOT_END}{{0,10}}?(?:{_ZH_SHOW})"
            r"|システムプロンプト[^。\n]{0,10}?(?:表示|出力|教え|見せ)"
            r"|(?:初期|元|隠し)の?(?:指示|プロンプト)を(?:表示|出力|教え|見せ)"
            r"|시스템\s?프롬프트[^.\n]{0,10}?(?:보여|출력|알려|공개)"
            r"|(?i:\b(?:покажи|выведи|раскрой|повтори|напиши|скажи)\b[\w\s]{0,20}?"
            r"\bсистемн\w+\s+(?:промпт|подсказк|инструкци|сообщени)\w*)"
            r"|सिस्टम प्रॉम्प्ट[^।\n]{0,10}?(?:दिखा|बता)"
        ),
    ),
    (
        "role_change",
        _rx(
            r"(?:从现在|從現在)(?:开始|開始|起)[，,]?\s*你(?:是|将|將|要|必须|必須|就是)"
            r"|你现在是|你現在是|你不再是"
            r"|(?:今から|これから)(?:あなた|君|お前)は"
            r"|지금부터\s*(?:너|당신)(?:는|은)"
            r"|(?i:\b(?:с этого момента|отныне) ты\b|\bты больше не (?:ассистент|ии|бот|модель)\b)"
        ),
    ),
    (
        "jailbreak",
        _rx(
            rf"(?:没有|沒有|不受|无|無)(?:任何)?(?:限制|约束|約束|审查|審查|过滤|過濾|道德)的?(?:{_ZH_AI})"
            r"|(?:进入|進入|开启|開啟|启用|啟用|切换到|切換到|打开|打開)[^。\n]{0,4}"
            r"(?:开发者|開發者|越狱|越獄|调试|調試|上帝|DAN)模式"
            r"|制限(?:なし|無し)で(?:答え|回答|話)"
            r"|(?:아무|어떤)\s*제한(?:이|도)?\s*없(?:는|이)"
            r"|(?i:\bбез (?:каких-либо |всяких )?(?:ограничений|правил|цензуры|фильтров)\b)"
        ),
    ),
    (
        "addresses_the_model",
        _rx(
            rf"(?:给|給|致)[^。\n]{{0,12}}?(?:{_ZH_AI})的?(?:说明|說明|指示|指令|消息|提示)"
            rf"|如果你是(?:{_ZH_AI})"
        ),
    ),
]

TABLE = _LATIN + _OTHER_SCRIPTS

_LATIN_NEEDLES: list[tuple[str, ...]] = [
    ("ignor", "desconsider", "esquec", "esqueç", "descart", "desobede", "despreze", "abandone"),
    ("negeer", "vergeet", "vergiss", "talimat", "pichle", "pichhle", "purane", "sare", "sabhi"),
    ("prompt", "istem", "instruç", "instrucoes", "instrucciones"),
    ("bist du", "tu es", " eres", " sei", "ben je", "partir de agora"),
    ("sem ", "sin ", "sans ", "ohne ", "senza ", "zonder "),
    ("nota ", "mensagem", "instruç", "note pour", "message pour", "note à", "message à"),
]
_SCRIPTS = re.compile(
    "(?P<cjk>[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af])|(?P<cyrillic>[\u0400-\u04ff])"
    "|(?P<devanagari>[\u0900-\u097f])"
)


def check_injection_i18n(text: str) -> list[Finding]:
    low = text.lower()
    rows = [
        row
        for row, needles in zip(_LATIN, _LATIN_NEEDLES, strict=True)
        if any(n in low for n in needles)
    ]
    if not text.isascii() and _SCRIPTS.search(text):
        rows += _OTHER_SCRIPTS
    return without_overlaps(
        [
            Finding("injection", kind, m.start(), m.end())
            for kind, rx in rows
            for m in rx.finditer(text)
        ]
    )
