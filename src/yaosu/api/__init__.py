"""HTTP plumbing shared by every domain's endpoints: the session dependency and error envelope."""
