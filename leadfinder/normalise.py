"""Text normalisation before matching, so one phrase list serves every way people type.

Full-width forms fold to half-width (NFKC), the traditional characters our phrases use fold
to simplified (a small table instead of OpenCC: only characters that change a match matter),
emoji go, hashtags keep their words and @mentions lose the name (a user called 物业 is no
complaint about property management).
"""

from __future__ import annotations

import re
import unicodedata

TRAD_TO_SIMP = str.maketrans(
    "燈蓋電線裸漏氣門區馬樹園綠環衛噪聲擾時後幾個聽說這沒們來對會車鐵給處問題塊員"
    "壞掉斷爛傷險報關廣場開發現塊應該護欄紅綠積淹與從還麼動動網絡買賣錢費產業務齊腳"
    "漲權劃雜亂碼臟髒臭醫療學補課約龍華寶鵬體錯讓為條邊違停號東灣蘇廳樓層梯燒煙燃災國貿窪羅壩輛廠場裡",
    "灯盖电线裸漏气门区马树园绿环卫噪声扰时后几个听说这没们来对会车铁给处问题块员"
    "坏掉断烂伤险报关广场开发现块应该护栏红绿积淹与从还么动动网络买卖钱费产业务齐脚"
    "涨权划杂乱码脏脏臭医疗学补课约龙华宝鹏体错让为条边违停号东湾苏厅楼层梯烧烟燃灾国贸洼罗坝辆厂场里",
)
_TRADITIONAL = re.compile("[" + "".join(chr(k) for k, v in TRAD_TO_SIMP.items() if k != v) + "]")
_MENTION = re.compile(r"@[^\s:：,，@/]{1,30}")
_HASHTAG = re.compile(r"#([^#]{1,40})#")
_DROP = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f\u200d\u3000]")
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    if _TRADITIONAL.search(text):  # most posts are simplified: skip the slow translate
        text = text.translate(TRAD_TO_SIMP)
    text = _HASHTAG.sub(r" \1 ", text)
    text = _MENTION.sub("@", text)
    return _SPACES.sub(" ", _DROP.sub(" ", text)).strip()
