"""Government data sharing 政务数据共享: share requests and their review, grants carrying a
machine-checked policy, the data service API, metering, subscriptions and responsibility lists."""
