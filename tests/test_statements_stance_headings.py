"""Reading a stance out of a free-text evaluation answer when the frame's own headings carry
agree/disagree cue words (Chinese 支持的论据 / 反对的论据). The answers are written as a model
continuing the shipped evaluation frame would write them; every prompt language of the shipped
frames is checked."""

from __future__ import annotations

import pytest

from culturalign.probes.statements.answers import read_stance
from culturalign.probes.statements.statements import load_frames

FRAMES = load_frames()
ZH = FRAMES.keywords["zh"]
EN = FRAMES.keywords["en"]

# The zh frame ends on 支持的论据：, so an answer starts with the arguments for.
ZH_WITH_FINAL = """1. 提高最低工资可以让低收入家庭更好地维持基本生活。
2. 工人收入增加后消费会上升，对地方经济有拉动作用。

反对的论据：
1. 企业的用工成本上升，一些小店可能会减少招聘甚至裁员。
2. 成本可能转嫁给消费者，导致物价上涨。

综合考虑，我认为利大于弊。
最终答案：同意"""

ZH_FINAL_DISAGREE = """1. 统一校服可以减少学生之间的攀比。
2. 便于学校管理。

反对的论据：
1. 限制了学生表达个性的自由。
2. 家长需要额外购买，增加负担。

最终答案：不同意"""

# No final-answer line, the verdict in a closing sentence.
ZH_NO_FINAL_AGREE = """1. 远程办公节省了通勤时间，员工的生活质量更高。
2. 公司可以节约办公场地的开支。

反对的论据：
1. 团队沟通变得困难，新员工难以融入。
2. 工作与生活的界限变得模糊。

总的来说，我同意这一陈述，但需要配套的管理制度。"""

# No final line and a closing sentence that takes no side: nothing to read, not "disagree".
ZH_NO_FINAL_NO_VERDICT = """1. 公共交通免费可以减少私家车出行，缓解拥堵。
2. 低收入群体出行更方便。

反对的论据：
1. 财政压力很大，需要提高税收。
2. 免费可能导致车厢过度拥挤，服务质量下降。"""

# The model repeats both headings itself (markdown bold), and its verdict is on its own line.
ZH_BOLD_HEADINGS_AGREE = """**支持的论据：**
- 动物实验给动物带来巨大痛苦。
- 已有不少替代方法，例如细胞培养和计算机模拟。

**反对的论据：**
- 某些药物的安全性目前仍然离不开动物实验。
- 完全禁止可能延缓医学进步。

**结论：**
我赞同这一观点。"""

# Arguments that mention opponents and supporters, and "different opinions" (不同意见), then a verdict.
ZH_OPPONENTS_IN_ARGUMENTS = """1. 支持者认为，延长学制能让学生打下更扎实的基础。
2. 在一些国家已经有成功的经验。

反对的论据：
1. 反对者指出，这会推迟年轻人进入劳动市场的时间。
2. 社会上对此存在不同意见。

我的看法：支持。"""

EN_NO_FINAL_NO_VERDICT = """1. A four-day week improves well-being and lowers burnout.
2. Trials report similar output in fewer hours.

Why some people disagree:
1. Not every job can be squeezed into four days.
2. Customers expect service five days a week."""

EN_NO_FINAL_AGREE = """1. Voting at sixteen builds the habit of taking part early.
2. Sixteen-year-olds already work and pay taxes.

Arguments against:
1. Many teenagers say they do not follow politics.
2. Those who disagree point to the age of majority being eighteen.

On balance, I agree with the statement."""

EN_WITH_FINAL = """1. It saves lives on the roads.
2. It is cheap to enforce.

Arguments against:
1. It restricts personal choice.

Final answer: disagree"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ZH_WITH_FINAL, "agree"),
        (ZH_FINAL_DISAGREE, "disagree"),
        (ZH_NO_FINAL_AGREE, "agree"),
        (ZH_NO_FINAL_NO_VERDICT, None),
        (ZH_BOLD_HEADINGS_AGREE, "agree"),
        (ZH_OPPONENTS_IN_ARGUMENTS, "agree"),
    ],
    ids=["final-agree", "final-disagree", "no-final-agree", "no-final-no-verdict", "bold-headings", "opponents"],
)
def test_chinese_headings_are_not_stances(text: str, expected: str | None) -> None:
    value, failure = read_stance(text, ZH)
    assert value == expected
    assert (failure is None) == (expected is not None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [(EN_NO_FINAL_NO_VERDICT, None), (EN_NO_FINAL_AGREE, "agree"), (EN_WITH_FINAL, "disagree")],
    ids=["no-final-no-verdict", "no-final-agree", "final-disagree"],
)
def test_english_headings_are_not_stances(text: str, expected: str | None) -> None:
    value, failure = read_stance(text, EN)
    assert value == expected
    assert (failure is None) == (expected is not None)


@pytest.mark.parametrize("language", sorted(FRAMES.prompts))
def test_no_prompt_language_reads_its_own_frame_as_a_stance(language: str) -> None:
    """The evaluation frame itself (its headings and its instructions) holds no stance: an answer
    that only repeats the frame's headings with arguments under them has nothing to read."""
    keywords = FRAMES.keywords[language]
    frame = FRAMES.render("evaluation", language, "X")
    heading_for = frame.strip().splitlines()[-1]  # the frame ends on the first heading
    against = {"en": "Arguments against:", "zh": "反对的论据："}[language]
    answer = f"{heading_for}\n1. ...\n\n{against}\n1. ..."
    assert read_stance(answer, keywords) == (None, "no agree/disagree answer found")
    for stance, word in (("agree", keywords["agree"][0]), ("disagree", keywords["disagree"][0])):
        final = keywords["final"][0]
        assert read_stance(f"{answer}\n{final}: {word}", keywords) == (stance, None)
