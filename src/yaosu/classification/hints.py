"""Column-name hints 列名提示: what a column's name suggests about its values.

Names in Chinese (身份证号, 联系电话), English (id_card, phoneNumber) and the pinyin
abbreviations of Chinese government systems (sfzh, lxdh, jtdz). A hint only moves confidence up
or down: the values always decide (see ``columns``).

* Chinese: substring rules, checked in order, so the more specific comes first
  (出生地 is a place before 出生 is a date; 身份证地址 is an address).
* English: the name is split into lower-case words (``birthDate`` → birth, date;
  ``ID_CARD`` → id, card); a rule is a sequence of consecutive words.
* Pinyin: a whole word must equal the abbreviation (``sfzh``, ``cust_sfzh``), because
  abbreviations of two letters are common inside other words.

A *counter-hint* says the column holds something that is not personal — an order number, an
amount, a time of an event, an organization's name — and lowers the confidence of any type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from yaosu.classification.detectors import clean


@dataclass(frozen=True)
class Hint:
    """What a column name suggests: ``types`` (most likely first), or ``counter`` (the name
    describes a non-personal thing), and the ``word`` that matched."""

    types: tuple[str, ...] = ()
    counter: bool = False
    word: str = ""

    @property
    def type(self) -> str | None:
        return self.types[0] if self.types else None


PHONE = ("mobile", "landline")
IP = ("ipv4", "ipv6")
CERTIFICATE = ("resident_id", "passport", "hk_macau_permit", "taiwan_permit")

# Chinese substrings → types, first match wins.
_ZH: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("统一社会信用代码", ("uscc",)),
    ("社会信用代码", ("uscc",)),
    ("信用代码", ("uscc",)),
    ("出生地", ("address",)),
    ("籍贯", ("address",)),
    ("地址", ("address",)),
    ("住址", ("address",)),
    ("住所", ("address",)),
    ("居住地", ("address",)),
    ("户籍地", ("address",)),
    ("现住", ("address",)),
    ("身份证", ("resident_id",)),
    ("身份号码", ("resident_id",)),
    ("公民身份", ("resident_id",)),
    ("护照", ("passport",)),
    ("港澳通行证", ("hk_macau_permit",)),
    ("往来港澳", ("hk_macau_permit",)),
    ("来往内地", ("hk_macau_permit",)),
    ("回乡证", ("hk_macau_permit",)),
    ("台胞证", ("taiwan_permit",)),
    ("来往大陆", ("taiwan_permit",)),
    ("台湾通行证", ("taiwan_permit",)),
    ("证件号", CERTIFICATE),
    ("手机", ("mobile",)),
    ("移动电话", ("mobile",)),
    ("固定电话", ("landline",)),
    ("固话", ("landline",)),
    ("座机", ("landline",)),
    ("办公电话", ("landline",)),
    ("传真", ("landline",)),
    ("电话", PHONE),
    ("联系方式", (*PHONE, "email")),
    ("银行卡", ("bank_card",)),
    ("银行账号", ("bank_card",)),
    ("卡号", ("bank_card",)),
    ("邮箱", ("email",)),
    ("电子邮件", ("email",)),
    ("车牌", ("licence_plate",)),
    ("号牌", ("licence_plate",)),
    ("ip地址", IP),
    ("经纬度", ("gps",)),
    ("经度", ("gps",)),
    ("纬度", ("gps",)),
    ("坐标", ("gps",)),
    ("出生", ("birth_date",)),
    ("生日", ("birth_date",)),
    ("姓名", ("person_name",)),
    ("联系人", ("person_name",)),
    ("法定代表人", ("person_name",)),
    ("法人代表", ("person_name",)),
    ("负责人", ("person_name",)),
    ("户主", ("person_name",)),
    ("申请人", ("person_name",)),
    ("经办人", ("person_name",)),
    ("收件人", ("person_name",)),
    ("收货人", ("person_name",)),
    ("寄件人", ("person_name",)),
    ("持卡人", ("person_name",)),
    ("投保人", ("person_name",)),
    ("被保险人", ("person_name",)),
    ("当事人", ("person_name",)),
    ("代理人", ("person_name",)),
    ("监护人", ("person_name",)),
    ("患者", ("person_name",)),
    ("业主", ("person_name",)),
    ("备注", ("free_text",)),
    ("描述", ("free_text",)),
    ("说明", ("free_text",)),
    ("内容", ("free_text",)),
    ("意见", ("free_text",)),
    ("留言", ("free_text",)),
)

_ZH_COUNTER = (
    "订单",
    "流水",
    "金额",
    "价格",
    "单价",
    "数量",
    "序号",
    "编号",
    "编码",
    "代码",
    "批次",
    "型号",
    "产品",
    "商品",
    "时间",
    "日期",
    "创建",
    "更新",
    "修改",
    "名称",
    "企业",
    "公司",
    "单位",
    "机构",
    "次数",
)

# English word sequences → types, first match wins.
_EN: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("ip",), IP),
    (("ipv4",), ("ipv4",)),
    (("ipv6",), ("ipv6",)),
    (("email",), ("email",)),
    (("mail",), ("email",)),
    (("credit", "code"), ("uscc",)),
    (("uscc",), ("uscc",)),
    (("birth", "place"), ("address",)),
    (("address",), ("address",)),
    (("addr",), ("address",)),
    (("residence",), ("address",)),
    (("id", "card"), ("resident_id",)),
    (("idcard",), ("resident_id",)),
    (("identity",), ("resident_id",)),
    (("national", "id"), ("resident_id",)),
    (("citizen", "id"), ("resident_id",)),
    (("passport",), ("passport",)),
    (("mobile",), ("mobile",)),
    (("cellphone",), ("mobile",)),
    (("cell",), ("mobile",)),
    (("landline",), ("landline",)),
    (("fax",), ("landline",)),
    (("phone",), PHONE),
    (("telephone",), PHONE),
    (("tel",), PHONE),
    (("bank", "card"), ("bank_card",)),
    (("bankcard",), ("bank_card",)),
    (("card", "no"), ("bank_card",)),
    (("card", "number"), ("bank_card",)),
    (("plate",), ("licence_plate",)),
    (("latitude",), ("gps",)),
    (("longitude",), ("gps",)),
    (("lat",), ("gps",)),
    (("lng",), ("gps",)),
    (("lon",), ("gps",)),
    (("gps",), ("gps",)),
    (("coordinates",), ("gps",)),
    (("coord",), ("gps",)),
    (("birth",), ("birth_date",)),
    (("birthday",), ("birth_date",)),
    (("birthdate",), ("birth_date",)),
    (("dob",), ("birth_date",)),
    (("fullname",), ("person_name",)),
    (("realname",), ("person_name",)),
    (("contact", "person"), ("person_name",)),
    (("recipient",), ("person_name",)),
    (("receiver",), ("person_name",)),
    (("cardholder",), ("person_name",)),
    (("remark",), ("free_text",)),
    (("remarks",), ("free_text",)),
    (("note",), ("free_text",)),
    (("notes",), ("free_text",)),
    (("comment",), ("free_text",)),
    (("comments",), ("free_text",)),
    (("description",), ("free_text",)),
    (("memo",), ("free_text",)),
)

# "name" means a person's name unless another word says whose or what's.
_NOT_A_PERSON = frozenset(
    [
        "company",
        "org",
        "organization",
        "organisation",
        "enterprise",
        "corp",
        "product",
        "goods",
        "item",
        "file",
        "user",
        "city",
        "province",
        "district",
        "county",
        "street",
        "road",
        "shop",
        "store",
        "brand",
        "dept",
        "department",
        "bank",
        "school",
        "table",
        "column",
        "field",
        "host",
        "domain",
        "app",
        "project",
        "unit",
        "merchant",
        "nick",
        "display",
    ]
)

_EN_COUNTER = frozenset(
    [
        "order",
        "amount",
        "price",
        "total",
        "qty",
        "quantity",
        "count",
        "serial",
        "sn",
        "sku",
        "product",
        "seq",
        "sequence",
        "id",
        "code",
        "time",
        "timestamp",
        "ts",
        "created",
        "updated",
        "modified",
        "date",
        "datetime",
        "batch",
        "version",
    ]
)

# Pinyin abbreviations (whole words only).
_PINYIN: dict[str, tuple[str, ...]] = {
    "sfz": ("resident_id",),
    "sfzh": ("resident_id",),
    "sfzhm": ("resident_id",),
    "gmsfhm": ("resident_id",),
    "zjhm": CERTIFICATE,
    "zjh": CERTIFICATE,
    "hzhm": ("passport",),
    "hzh": ("passport",),
    "gatxz": ("hk_macau_permit",),
    "txzhm": ("hk_macau_permit", "taiwan_permit"),
    "tbz": ("taiwan_permit",),
    "twtxz": ("taiwan_permit",),
    "sjh": ("mobile",),
    "sjhm": ("mobile",),
    "yddh": ("mobile",),
    "shouji": ("mobile",),
    "gddh": ("landline",),
    "zjdh": ("landline",),
    "bgdh": ("landline",),
    "lxdh": PHONE,
    "dh": PHONE,
    "dhhm": PHONE,
    "lxfs": (*PHONE, "email"),
    "yhkh": ("bank_card",),
    "yhzh": ("bank_card",),
    "kh": ("bank_card",),
    "tyshxydm": ("uscc",),
    "shxydm": ("uscc",),
    "xydm": ("uscc",),
    "yx": ("email",),
    "dzyx": ("email",),
    "yxdz": ("email",),
    "cph": ("licence_plate",),
    "cphm": ("licence_plate",),
    "hphm": ("licence_plate",),
    "ipdz": IP,
    "jd": ("gps",),
    "wd": ("gps",),
    "jwd": ("gps",),
    "zb": ("gps",),
    "csrq": ("birth_date",),
    "csny": ("birth_date",),
    "sr": ("birth_date",),
    "xm": ("person_name",),
    "xingming": ("person_name",),
    "lxr": ("person_name",),
    "fddbr": ("person_name",),
    "fzr": ("person_name",),
    "dz": ("address",),
    "dizhi": ("address",),
    "jtdz": ("address",),
    "zz": ("address",),
    "xzz": ("address",),
    "hjdz": ("address",),
    "jzdz": ("address",),
    "txdz": ("address",),
    "zcdz": ("address",),
    "jgdz": ("address",),
    "bz": ("free_text",),
}

_PINYIN_COUNTER = frozenset(["ddh", "lsh", "je", "bh", "xh", "pch", "cjsj", "gxsj", "rq", "sj"])


def words(name: str) -> list[str]:
    """Lower-case words of an identifier: snake_case, kebab-case, camelCase, spaces."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name)
    return [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]


def _has_sequence(found: list[str], sequence: tuple[str, ...]) -> bool:
    n = len(sequence)
    return any(tuple(found[i : i + n]) == sequence for i in range(len(found) - n + 1))


def hint_for(name: str) -> Hint:
    """The hint a column name gives (an empty ``Hint`` when it says nothing)."""
    if not isinstance(name, str):
        return Hint()
    # A header spelled with full-width letters, invisible characters or spaces inside (ｘｍ,
    # 姓\u200b名, 姓 名) says the same thing: fold it like a value, and drop whitespace for the
    # Chinese rules (English words still split at spaces).
    name = clean(name)
    lowered = name.lower()
    squeezed = re.sub(r"\s+", "", lowered)
    for needle, types in _ZH:
        if needle in squeezed:
            return Hint(types, word=needle)
    found = words(name)
    for word in found:
        if word in _PINYIN:
            return Hint(_PINYIN[word], word=word)
    for sequence, types in _EN:
        if _has_sequence(found, sequence):
            return Hint(types, word=" ".join(sequence))
    if "name" in found or "names" in found:
        if _NOT_A_PERSON.isdisjoint(found):
            return Hint(("person_name",), word="name")
        return Hint(counter=True, word="name")
    for needle in _ZH_COUNTER:
        if needle in squeezed:
            return Hint(counter=True, word=needle)
    for word in found:
        if word in _EN_COUNTER or word in _PINYIN_COUNTER:
            return Hint(counter=True, word=word)
    return Hint()
