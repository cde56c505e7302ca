"""Usage policies of data-sharing grants 授权策略: an ODRL 2.2 subset (``model``), the one
evaluator that decides every data-service call (``evaluate``), caller filters and row filters
compiled to DuckDB SQL (``filters``), and plain-language descriptions in zh-CN and en
(``describe``). Pure: no database, no HTTP. See docs/policy.md."""
