"""The shapes of the API's paths, shared by the router and the request log: ids, a collection's
owner (``workflows/{id}/``, ``apps/{id}@{version}/``) and a run under it."""

from __future__ import annotations

ID = r"[0-9A-Za-z_-]+"
VERSION = r"(?:@(?P<version>\d+))?"  # apps/{id}@{version}/: one version of an app (AppsHub API)


def owner_pattern(segment: str, versioned: bool = False) -> str:
    """``{segment}/{owner id}/``, with an optional ``@{version}`` where the collection has versions."""
    return rf"{segment}/(?P<owner>{ID}){VERSION if versioned else ''}/"


def run_pattern(segment: str, versioned: bool = False) -> str:
    """``{owner}/runs/{run id}/``."""
    return owner_pattern(segment, versioned) + rf"runs/(?P<run>{ID})/"
