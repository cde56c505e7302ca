"""The web UI's words in zh-CN (default) and en.

A message catalog kept as data in this module rather than gettext ``.po``/``.mo`` files: the UI
is small, every message needs both languages from the start, and a missing English text is a
test failure (``tests/web``) instead of a silently untranslated page. Vocabularies of the
domains (base libraries, open attributes, grades…) reuse their ``rules`` tables for Chinese.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from yaosu.catalog import rules as catalog_rules
from yaosu.classification import rules as classification_rules
from yaosu.identity import rules as identity_rules
from yaosu.kit import wording
from yaosu.opendata import rules as open_rules

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
HTML_LANG = {"zh": "zh-CN", "en": "en"}

MESSAGES: dict[str, tuple[str, str]] = {
    # frame
    "site.name": ("示范市公共数据开放平台", "Demo City Open Data Portal"),
    "site.tagline": (
        "依法有序开放公共数据，数据可用不可见，全程留痕可验证",
        "Public data opened lawfully: usable but invisible, every step on a verifiable ledger",
    ),
    "nav.home": ("首页", "Home"),
    "nav.datasets": ("数据目录", "Datasets"),
    "nav.organizations": ("开放单位", "Publishers"),
    "nav.demands": ("需求征集", "Requests"),
    "nav.reuses": ("成果展示", "Reuses"),
    "nav.developers": ("开发者", "Developers"),
    "nav.login": ("登录", "Sign in"),
    "nav.logout": ("退出", "Sign out"),
    "nav.language": ("English", "中文"),
    "nav.skip": ("跳到主要内容", "Skip to main content"),
    "footer.ledger": ("透明账本", "Transparency ledger"),
    "footer.api": ("接口文档", "API docs"),
    "footer.ckan": ("CKAN 兼容接口", "CKAN-compatible API"),
    "footer.dcat": ("DCAT 目录", "DCAT catalog"),
    # home
    "home.search_placeholder": (
        "搜索数据集，如：医疗机构、养老、公交",
        "Search datasets, e.g. hospitals",
    ),
    "home.search": ("搜索", "Search"),
    "home.figures": ("平台概况", "At a glance"),
    "figure.datasets": ("开放数据集", "Open datasets"),
    "figure.downloadable": ("可直接下载", "Downloadable"),
    "figure.providers": ("开放单位", "Publishers"),
    "figure.rows": ("开放数据条数", "Open rows"),
    "figure.downloads": ("下载次数", "Downloads"),
    "figure.applications": ("有条件开放申请", "Applications"),
    "figure.demands": ("公众需求", "Public requests"),
    "figure.reuses": ("成果", "Reuses"),
    "home.featured": ("推荐数据集", "Featured datasets"),
    "home.libraries": ("基础库", "Base libraries"),
    "home.more": ("查看全部", "See all"),
    # search
    "search.title": ("数据目录", "Datasets"),
    "search.results": ("共 {total} 个数据集", "{total} {total|dataset|datasets}"),
    "search.none": ("没有找到匹配的数据集。", "No dataset matches."),
    "search.clear": ("清除筛选", "Clear filters"),
    "search.prev": ("上一页", "Previous"),
    "search.next": ("下一页", "Next"),
    "search.page": ("第 {page} / {pages} 页", "Page {page} of {pages}"),
    "facet.provider_id": ("开放单位", "Publisher"),
    "facet.base_library": ("基础库", "Base library"),
    "facet.share_attribute": ("共享属性", "Share attribute"),
    "facet.open_attribute": ("开放属性", "Open attribute"),
    "facet.grade": ("数据级别", "Grade"),
    "facet.format": ("资源格式", "Format"),
    "facet.update_cycle": ("更新周期", "Update cycle"),
    # dataset
    "dataset.code": ("资源代码", "Resource code"),
    "dataset.provider": ("提供单位", "Publisher"),
    "dataset.registration": ("登记编码", "Registration code"),
    "dataset.summary": ("摘要", "Summary"),
    "dataset.keywords": ("关键词", "Keywords"),
    "dataset.updated": ("更新时间", "Updated"),
    "dataset.published": ("发布时间", "Published"),
    "dataset.rows": ("数据条数", "Rows"),
    "dataset.version": ("数据版本", "Version"),
    "dataset.version_sha256": ("版本 SHA-256", "Version SHA-256"),
    "dataset.fields": ("数据项", "Fields"),
    "dataset.field_name": ("字段名", "Field"),
    "dataset.field_label": ("中文名称", "Chinese label"),
    "dataset.field_type": ("类型", "Type"),
    "dataset.field_masked": ("脱敏", "De-identified"),
    "dataset.preview": ("数据预览", "Preview"),
    "dataset.preview_note": (
        "前 {n} 条，已按分类分级结果脱敏，与下载文件一致。",
        "First {n} {n|row|rows}, de-identified as in the downloads.",
    ),
    "dataset.downloads": ("数据下载", "Downloads"),
    "dataset.download": ("下载", "Download"),
    "dataset.sha256": ("SHA-256 校验值", "SHA-256"),
    "dataset.size": ("大小", "Size"),
    "dataset.api": ("接口调用", "API"),
    "dataset.api_note": (
        "匿名调用有频率限制；注册开发者并创建 API 密钥可获得更高额度。",
        "Anonymous calls are rate-limited; register as a developer for an API key.",
    ),
    "dataset.apply": ("申请使用", "Apply for access"),
    "dataset.apply_note": (
        "该数据集为有条件开放：提交申请，经提供单位和数据主管部门审核后通过数据服务接口使用。",
        "This dataset is open on conditions: apply, and once the publisher and the data "
        "authority approve, use it through the data service API.",
    ),
    "dataset.no_data": ("该数据集暂无可下载的数据。", "No downloadable data yet."),
    "dataset.loading": ("加载中…", "Loading…"),
    "dataset.reuses": ("基于该数据的成果", "Reuses of this dataset"),
    # organizations
    "orgs.title": ("开放单位", "Publishers"),
    "orgs.datasets": ("{n} 个数据集", "{n} {n|dataset|datasets}"),
    # registration
    "reg.title": ("公共数据资源登记", "Public data resource registration"),
    "reg.catalog_version": ("目录版本", "Catalog version"),
    "reg.snapshot": ("登记内容 SHA-256", "Registered metadata SHA-256"),
    "reg.registered_at": ("登记时间", "Registered"),
    "reg.status": ("状态", "Status"),
    "reg.not_open": ("该资源未向公众开放。", "This resource is not open to the public."),
    # demands
    "demands.title": ("需求征集（问需于民）", "Public data requests"),
    "demands.intro": (
        "告诉我们您需要哪些公共数据。需求和答复公开展示，联系方式不会公开。",
        "Tell us which public data you need. Requests and answers are public; your contact is not.",
    ),
    "demands.form": ("提交需求", "Request a dataset"),
    "demands.field_title": ("需求名称", "Title"),
    "demands.field_description": ("需求描述与应用场景", "Description and use"),
    "demands.field_fields": ("希望包含的数据项（逗号分隔）", "Wanted fields (comma-separated)"),
    "demands.field_name": ("称呼（可选）", "Your name (optional)"),
    "demands.field_contact": ("联系方式（可选，不公开）", "Contact (optional, never shown)"),
    "demands.submit": ("提交", "Submit"),
    "demands.thanks": ("需求已提交，感谢您的参与！", "Thank you: your request is posted."),
    "demands.answer": ("答复", "Answer"),
    "demands.none": ("暂无需求。", "No requests yet."),
    "demand.open": ("待答复", "Awaiting answer"),
    "demand.answered": ("已答复", "Answered"),
    "demand.declined": ("暂不开放", "Declined"),
    # reuses
    "reuses.title": ("成果展示", "Reuses"),
    "reuses.intro": (
        "基于开放数据开发的应用、论文和可视化作品，经审核后展示。",
        "Apps, papers and visualizations built on open data, shown once reviewed.",
    ),
    "reuses.form": ("提交成果", "Submit a reuse"),
    "reuses.field_title": ("成果名称", "Title"),
    "reuses.field_kind": ("类型", "Kind"),
    "reuses.field_url": ("链接", "Link"),
    "reuses.field_description": ("简介", "Description"),
    "reuses.field_datasets": (
        "使用的数据集代码（逗号分隔）",
        "Dataset codes used (comma-separated)",
    ),
    "reuses.field_author": ("作者或团队", "Author or team"),
    "reuses.thanks": ("已提交，审核通过后展示。", "Submitted; it is shown once reviewed."),
    "reuses.none": ("暂无成果。", "No reuses yet."),
    "reuse.app": ("应用", "App"),
    "reuse.paper": ("论文", "Paper"),
    "reuse.visualization": ("可视化", "Visualization"),
    "reuse.other": ("其他", "Other"),
    # apply
    "apply.title": ("有条件开放申请", "Application for conditional open data"),
    "apply.fields": ("申请的数据项", "Fields"),
    "apply.purpose": ("用途", "Purpose"),
    "apply.purpose_text": ("用途说明", "Purpose in detail"),
    "apply.scenario": ("应用场景", "Scenario"),
    "apply.term": ("使用期限（天）", "Term (days)"),
    "apply.delivery": ("提供方式", "Delivery"),
    "apply.research": (
        "科研通道（高校和科研机构）",
        "Research route (universities and institutes)",
    ),
    "apply.research_plan": ("研究方案", "Research plan"),
    "apply.commitment": (
        "我已阅读并同意数据安全承诺：仅用于申请用途，不再识别个人，不向第三方提供。",
        "I accept the data security commitment: use only for this purpose, never re-identify "
        "people, never pass the data on.",
    ),
    "apply.submit": ("提交申请", "Apply"),
    "apply.login_first": ("请先登录后再申请。", "Sign in to apply."),
    "apply.done": (
        "申请已提交，当前状态：{status}。",
        "Application submitted; status: {status}.",
    ),
    "apply.mine": ("我的申请", "My applications"),
    # login
    "login.title": ("登录", "Sign in"),
    "login.username": ("用户名", "Username"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Sign in"),
    "login.failed": ("用户名或密码错误。", "Wrong username or password."),
    "login.as": ("已登录：{name}", "Signed in as {name}"),
    # developers
    "dev.title": ("开发者", "Developers"),
    "dev.intro": (
        "注册开发者账号后，可创建 API 密钥，以更高频率调用开放接口，并可申请有条件开放数据。",
        "Register a developer account to create API keys with higher rate limits, and to "
        "apply for conditional open data.",
    ),
    "dev.register": ("注册开发者账号", "Register"),
    "dev.display_name": ("名称", "Display name"),
    "dev.email": ("电子邮箱（可选）", "E-mail (optional)"),
    "dev.done": (
        "注册成功：{username}。请登录后在“API 密钥”处创建密钥。",
        "Registered: {username}. Sign in and create an API key.",
    ),
    "dev.keys": ("API 密钥", "API keys"),
    "dev.create_key": ("创建 API 密钥", "Create an API key"),
    "dev.key_name": ("密钥名称", "Key name"),
    "dev.key_once": (
        "请立即保存该密钥，它只显示这一次：",
        "Save this key now; it is shown only once:",
    ),
    "dev.endpoints": ("接口一览", "Endpoints"),
    # errors
    "error.title": ("出错了", "Something went wrong"),
    "error.back": ("返回首页", "Back to the home page"),
    "error.csrf": (
        "页面已过期，请刷新后重试。",
        "The page has expired; reload it and try again.",
    ),
    # common
    "common.yes": ("是", "yes"),
    "common.no": ("否", "no"),
    "common.none": ("—", "—"),
}


def _load_words(folder: Path) -> dict[str, tuple[str, str]]:
    """More words from ``words/*.yaml`` (one file per area of the UI), each ``key: [zh, en]``.
    A key defined twice, or without both languages, is an error at start-up."""
    found: dict[str, tuple[str, str]] = {}
    for path in sorted(folder.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key, pair in data.items():
            if key in MESSAGES or key in found:
                raise ValueError(f"{path.name}: the word {key!r} is defined twice")
            if not (isinstance(pair, list) and len(pair) == 2 and all(pair)):
                raise ValueError(f"{path.name}: {key!r} needs [zh, en]")
            found[str(key)] = (str(pair[0]), str(pair[1]))
    return found


MESSAGES.update(_load_words(Path(__file__).parent / "words"))


def normalize(lang: str | None) -> str:
    if not lang:
        return DEFAULT_LANG
    lang = lang.lower()
    return "en" if lang.startswith("en") else "zh"


def t(key: str, lang: str, **values: Any) -> str:
    """The message ``key`` in ``lang`` (``zh`` or ``en``), with ``{name}`` values filled and
    English plurals (``{n|row|rows}``) chosen (see ``kit.wording``)."""
    pair = MESSAGES.get(key)
    if pair is None:
        return key
    text = pair[1] if lang == "en" else pair[0]
    return wording.fill(text, **values) if values else text  # scripts fill their own


_EN_VOCAB: dict[str, dict[str, str]] = {
    "base_library": {
        "population": "Population",
        "legal_person": "Legal persons",
        "natural_resources_geo": "Natural resources and geography",
        "social_credit": "Social credit",
        "e_license": "E-licences",
        "macro_economy": "Macro economy",
    },
    "share_attribute": {
        "unconditional": "Shared unconditionally",
        "conditional": "Shared on conditions",
        "none": "Not shared",
    },
    "open_attribute": {
        "unconditional": "Open",
        "conditional": "Open on conditions",
        "none": "Not open",
    },
    "update_cycle": {
        "realtime": "Real time",
        "daily": "Daily",
        "weekly": "Weekly",
        "monthly": "Monthly",
        "quarterly": "Quarterly",
        "yearly": "Yearly",
        "irregular": "Irregular",
    },
    "format": {
        "table": "Database table",
        "file": "File",
        "spreadsheet": "Spreadsheet",
        "api": "API",
        "image": "Image",
        "geo": "Spatial data",
    },
}
_EN_VOCAB["role"] = {
    "platform_admin": "Platform admin",
    "reviewer": "Data-authority reviewer",
    "data_officer": "Data officer",
    "cdo": "Chief data officer",
    "member": "Member",
    "auditor": "Auditor",
}
_EN_VOCAB["job_status"] = {
    "queued": "Queued",
    "running": "Running",
    "succeeded": "Succeeded",
    "failed": "Failed",
    "cancelled": "Cancelled",
    "retried": "Retried",
}
_ZH_VOCAB: dict[str, dict[str, str]] = {
    "role": identity_rules.ROLES,
    "job_status": {
        "queued": "排队中",
        "running": "进行中",
        "succeeded": "已完成",
        "failed": "失败",
        "cancelled": "已取消",
        "retried": "已重试",
    },
    "base_library": catalog_rules.BASE_LIBRARIES,
    "share_attribute": catalog_rules.SHARE_ATTRIBUTES,
    "open_attribute": catalog_rules.OPEN_ATTRIBUTES,
    "update_cycle": catalog_rules.UPDATE_CYCLES,
    "format": catalog_rules.FORMATS,
    "reuse_kind": open_rules.REUSE_KINDS,
}


def vocab(kind: str, value: str | None, lang: str) -> str:
    """A vocabulary value's label (base library, open attribute, grade…) in ``lang``."""
    if value is None:
        return t("common.none", lang)
    if kind == "grade":
        pair = classification_rules.GRADES.get(value)
        return (pair[1] if lang == "en" else pair[0]) if pair else value
    if kind == "purpose":
        from yaosu.policy.model import PURPOSES

        p = PURPOSES.get(value)
        return (p[1] if lang == "en" else p[0]) if p else value
    table = (_EN_VOCAB if lang == "en" else _ZH_VOCAB).get(kind, {})
    return table.get(value, value)
