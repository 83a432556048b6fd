"""The territorial responsibility list and the village access lists through the gateway."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import pytest_asyncio

from tests.support.governance import (
    ManualClock,
    assert_rebuild_equals_live,
    assert_refused,
    get,
    governance_platform,
    post,
    settle,
    token,
)

pytestmark = pytest.mark.e2e
NOW = datetime(2024, 12, 30, 2, 0, tzinfo=UTC)
L = "/responsibility-list"


@pytest_asyncio.fixture
async def gov(tmp_path):
    async with governance_platform(tmp_path / "var", ManualClock(NOW)) as client:
        await post(client, "/townships", {"code": "A1", "name": "云中镇"})
        yield client


def item(code: str, domain="生态环境", lead="市生态环境局", **changes) -> dict:
    return {"code": code, "matter": f"事项{code}", "domain": domain, "lead_department": lead,
            "lead_duty": "监督检查", "township_duty": "发现报告、劝阻", "legal_basis": "法律",
            "cooperating": [{"department": "市农业农村局", "duty": "指导"}], **changes}


async def test_the_list_as_published_at_a_date_with_history(gov):
    for code, domain, lead in (("STHJ-1", "生态环境", "市生态环境局"),
                               ("STHJ-2", "生态环境", "乡镇"),
                               ("AQSC-1", "安全生产", "市应急管理局"),
                               ("SCJG-1", "市场监管", "市市场监管局")):
        await post(gov, f"{L}/items", item(code, domain, lead))
    await post(gov, f"{L}/versions", {"effective_on": "2024-01-01", "document_number": "怀办发〔2024〕1号"})
    amended = item("STHJ-1", township_duty="网格巡查、发现报告")
    del amended["code"]
    await post(gov, f"{L}/items/STHJ-1/amendment", {**amended, "reason": "乡镇申请"})
    await post(gov, f"{L}/items/SCJG-1/repeal", {"reason": "职责划转"})
    await post(gov, f"{L}/items", item("AQSC-2", "安全生产", "市应急管理局"))
    await settle(gov)
    draft = await get(gov, f"{L}/items", pending="true")
    assert sorted((i["code"], i["pending"]) for i in draft["items"]) == [
        ("AQSC-2", "added"), ("SCJG-1", "repealed"), ("STHJ-1", "amended")]
    last = await post(gov, f"{L}/versions", {"effective_on": "2024-07-01",
                                             "document_number": "怀办发〔2024〕9号"})

    march = await get(gov, L, on="2024-03-15", token_=last["consistency_token"])
    assert march["version"]["number"] == 1 and len(march["items"]) == 4
    assert march["by_domain"] == {"安全生产": 1, "市场监管": 1, "生态环境": 2}
    assert next(i for i in march["items"] if i["code"] == "STHJ-1")["township_duty"] == "发现报告、劝阻"
    august = await get(gov, L, on="2024-08-01")
    assert august["version"] == {"number": 2, "effective_on": "2024-07-01",
                                 "document_number": "怀办发〔2024〕9号", "items": 4,
                                 "added": ["AQSC-2"], "amended": ["STHJ-1"], "repealed": ["SCJG-1"]}
    assert sorted(i["code"] for i in august["items"]) == ["AQSC-1", "AQSC-2", "STHJ-1", "STHJ-2"]
    safety = await get(gov, L, on="2024-08-01", domain="安全生产")
    assert [i["code"] for i in safety["items"]] == ["AQSC-1", "AQSC-2"]
    township_led = await get(gov, L, on="2024-08-01", lead_department="乡镇")
    assert [i["code"] for i in township_led["items"]] == ["STHJ-2"]
    assert august["by_lead_department"]["市应急管理局"] == 2
    await get(gov, L, on="2023-12-31", expect=404)

    versions = await get(gov, f"{L}/versions")
    assert [v["number"] for v in versions] == [1, 2]
    history = await get(gov, f"{L}/items/STHJ-1/history")
    assert [(h["version"], h["change"]) for h in history] == [(1, "added"), (2, "amended")]
    assert history[1]["item"]["township_duty"] == "网格巡查、发现报告"
    gone = await get(gov, f"{L}/items/SCJG-1/history")
    assert [(h["version"], h["change"], h["item"]) for h in gone][-1] == (2, "repealed", None)
    await get(gov, f"{L}/items/NOPE/history", expect=404)

    # refusals append nothing; township operators read the list but do not change it
    admin = gov.admin
    await assert_refused(gov, f"{L}/items", item("AQSC-1"), admin, 409)
    await assert_refused(gov, f"{L}/items/SCJG-1/amendment", {**amended, "reason": "x"}, admin, 422,
                  "item_repealed")
    await assert_refused(gov, f"{L}/items/STHJ-1/amendment", {**amended, "reason": "x"}, admin, 422,
                  "no_change")
    await assert_refused(gov, f"{L}/versions", {"effective_on": "2024-09-01", "document_number": "x"},
                  admin, 422, "nothing_to_publish")
    await post(gov, f"{L}/items/STHJ-2/repeal", {"reason": "上收"})
    await assert_refused(gov, f"{L}/versions", {"effective_on": "2024-07-01", "document_number": "x"},
                  admin, 422, "date_order")
    operator = token(gov.settings, "township_operator", township="A1")
    assert (await get(gov, L, on="2024-08-01", headers=operator))["version"]["number"] == 2
    await assert_refused(gov, f"{L}/items", item("X-1"), operator, 403)
    await assert_refused(gov, f"{L}/versions", {"effective_on": "2024-09-01", "document_number": "x"},
                  operator, 403)
    await assert_refused(gov, f"{L}/items/AQSC-1/repeal", {"reason": "x"}, operator, 403)
    await assert_rebuild_equals_live(gov, gov.settings.var_dir)


async def test_village_access_lists_answer_yes_or_no_with_the_entry(gov):
    entries = [("statutory_duty", "村民委员会选举"), ("assistance", "人口普查"),
               ("negative", "招商引资任务"), ("certificate", "居住证明"), ("signboard", "村民委员会")]
    for kind, name in entries:
        await post(gov, "/village-access/entries", {"kind": kind, "name": name, "basis": "厅字〔2022〕28号",
                                                    "effective_on": "2023-06-01"})
    await settle(gov)

    async def check(question, name, on="2024-01-01"):
        return await get(gov, "/village-access/check", question=question, name=name, on=on)

    yes = await check("task", "人口普查")
    assert yes["allowed"] is True and yes["entry"]["kind"] == "assistance"
    no = await check("task", " 招商引资任务 ")
    assert no["allowed"] is False and no["entry"]["kind"] == "negative"
    unknown = await check("task", "垃圾分类考核")
    assert unknown["allowed"] is False and unknown["entry"] is None
    assert (await check("certificate", "居住证明"))["allowed"] is True
    assert (await check("certificate", "亲属关系证明"))["allowed"] is False
    assert (await check("signboard", "村民委员会"))["allowed"] is True
    assert (await check("certificate", "村民委员会"))["allowed"] is False
    assert (await check("certificate", "居住证明", on="2023-05-31"))["allowed"] is False

    certificate = next(e for e in (await get(gov, "/village-access/entries", kind="certificate"))["items"])
    removed = await post(gov, f"/village-access/entries/{certificate['id']}/removal",
                         {"basis": "年度评估取消", "effective_on": "2024-07-01"})
    await get(gov, "/village-access/entries", token_=removed["consistency_token"])
    assert (await check("certificate", "居住证明", on="2024-06-30"))["allowed"] is True
    after = await check("certificate", "居住证明", on="2024-07-01")
    assert after["allowed"] is False and after["entry"] is None
    everything = await get(gov, "/village-access/entries", include_removed="true", kind="certificate")
    assert everything["items"][0]["removal_basis"] == "年度评估取消"
    assert (await get(gov, "/village-access/entries", on="2024-08-01"))["items"].__len__() == 4

    admin = gov.admin
    await assert_refused(gov, "/village-access/entries", {"kind": "assistance", "name": "招商引资任务",
                                                   "basis": "x"}, admin, 422,
                  "conflicts_with_negative_list")
    await assert_refused(gov, "/village-access/entries", {"kind": "signboard", "name": "村民委员会",
                                                   "basis": "x"}, admin, 422, "already_listed")
    await assert_refused(gov, f"/village-access/entries/{certificate['id']}/removal", {"basis": "x"}, admin,
                  422, "already_removed")
    await assert_refused(gov, "/village-access/entries", {"kind": "poster", "name": "x", "basis": "x"},
                  admin, 422)
    operator = token(gov.settings, "township_operator", township="A1")
    assert (await get(gov, "/village-access/check", headers=operator, question="task",
                      name="人口普查"))["allowed"] is True
    await assert_refused(gov, "/village-access/entries", {"kind": "certificate", "name": "y", "basis": "x"},
                  operator, 403)
    await assert_rebuild_equals_live(gov, gov.settings.var_dir)
