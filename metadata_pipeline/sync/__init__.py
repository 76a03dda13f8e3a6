"""Metadata as code: the catalog as YAML files in Git, both ways (seed 000 sections 4.1-4.7).

Public API:
- `commit_workspace` / `pull_workspace`: catalog -> one Git commit, Git -> catalog.
- `list_conflicts` / `resolve_conflict`: datasets changed on both sides; ours, theirs or manual.
- `add_workspace` / `list_workspaces`: which remote, branch and folder a workspace syncs with.
- `SourceControlProvider`, `GitProvider` (and `metadata_pipeline.sync.github_provider.GitHubProvider`,
  imported on demand so PyGithub loads only when used), `is_pipeline_commit` for webhook sensors.
- `parse_document` / `dump_document`: the YAML file format.
"""

from metadata_pipeline.sync.commit import CommitResult, commit_workspace
from metadata_pipeline.sync.conflicts import ConflictView, ResolveResult, list_conflicts, resolve_conflict
from metadata_pipeline.sync.errors import (
    CommitBlockedError,
    CredentialError,
    NotSupportedError,
    ProviderError,
    PushRejectedError,
    SyncError,
    YamlFormatError,
)
from metadata_pipeline.sync.git_remote import GitProvider
from metadata_pipeline.sync.providers import (
    PIPELINE_TRAILER,
    ChangedFile,
    CommitAuthor,
    CommitInfo,
    FileChange,
    SourceControlProvider,
    TreeEntry,
    is_pipeline_commit,
)
from metadata_pipeline.sync.pull import PullResult, pull_workspace
from metadata_pipeline.sync.workspaces import WorkspaceView, add_workspace, list_workspaces, open_provider
from metadata_pipeline.sync.yaml_format import DatasetDocument, dump_document, parse_document

__all__ = [
    "PIPELINE_TRAILER",
    "ChangedFile",
    "CommitAuthor",
    "CommitBlockedError",
    "CommitInfo",
    "CommitResult",
    "ConflictView",
    "CredentialError",
    "DatasetDocument",
    "FileChange",
    "GitProvider",
    "NotSupportedError",
    "ProviderError",
    "PullResult",
    "PushRejectedError",
    "ResolveResult",
    "SourceControlProvider",
    "SyncError",
    "TreeEntry",
    "WorkspaceView",
    "YamlFormatError",
    "add_workspace",
    "commit_workspace",
    "dump_document",
    "is_pipeline_commit",
    "list_conflicts",
    "list_workspaces",
    "open_provider",
    "parse_document",
    "pull_workspace",
    "resolve_conflict",
]
