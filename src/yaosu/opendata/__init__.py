"""Open data 公共数据开放 (OPN-1…OPN-4): what the public sees of the catalog, open distributions
with their SHA-256, conditional-open applications 有条件开放申请 (share requests on the ``open``
channel), public demands 问需于民 and reuses, the CKAN Action API and DCAT."""
