"""Provider metadata, found by Airflow through the ``apache_airflow_provider`` entry point.

Connection form fields are declared here (``conn-fields``, ``ui-field-behaviour``): Airflow 3.2+
builds its connection form from this, without importing the hook.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_pseven import __version__

_INTEGRATION = "pSeven Enterprise"


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-pseven",
        "name": "pSeven Enterprise",
        "description": "Run pSeven Enterprise (DATADVANCE) workflows and AppsHub apps from Airflow "
        "through its REST API v2.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": _INTEGRATION,
                "external-doc-url": "https://www.datadvance.net/product/pseven-enterprise/",
                "tags": ["service"],
            }
        ],
        "operators": [
            {"integration-name": _INTEGRATION, "python-modules": ["airflow_provider_pseven.operators"]}
        ],
        "sensors": [
            {"integration-name": _INTEGRATION, "python-modules": ["airflow_provider_pseven.sensors"]}
        ],
        "hooks": [
            {"integration-name": _INTEGRATION, "python-modules": ["airflow_provider_pseven.hooks.pseven"]}
        ],
        "triggers": [
            {"integration-name": _INTEGRATION, "python-modules": ["airflow_provider_pseven.triggers"]}
        ],
        "connection-types": [
            {
                "hook-class-name": "airflow_provider_pseven.hooks.pseven.PsevenHook",
                "hook-name": "pSeven Enterprise",
                "connection-type": "pseven",
                "conn-fields": {
                    "api_path": {
                        "label": "REST API base path",
                        "description": "'auto' detects it; '@rest' for v2026.10 and newer, "
                        "'.rest' for v2025.03 and older",
                        "schema": {
                            "type": ["string", "null"],
                            "enum": ["auto", "@rest", ".rest", None],
                            "default": "auto",
                        },
                    },
                    "verify_ssl": {
                        "label": "Verify TLS certificates",
                        "schema": {"type": ["boolean", "null"], "default": True},
                    },
                    "ca_bundle": {
                        "label": "CA bundle path",
                        "description": "A PEM file of CA certificates for a server with a private CA",
                        "schema": {"type": ["string", "null"]},
                    },
                    "timeout": {
                        "label": "Request timeout (seconds)",
                        "schema": {"type": ["number", "null"], "default": 60, "exclusiveMinimum": 0},
                    },
                    "require_https": {
                        "label": "Require https",
                        "description": "Refuse a plain http:// sign-in URL unless it is loopback "
                        "(without it, such a URL only logs a warning)",
                        "schema": {"type": ["boolean", "null"], "default": False},
                    },
                    "proxy": {
                        "label": "Proxy URL",
                        "description": "http://[user:password@]host:port of a forward proxy for every "
                        "request; empty: HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY decide",
                        "schema": {"type": ["string", "null"]},
                    },
                },
                # The port stays visible: Airflow 3.3.2's UI tests a saved connection only when its
                # stored port matches the number the UI sends (0 for none), apache/airflow#73298.
                "ui-field-behaviour": {
                    "hidden-fields": ["schema"],
                    "relabeling": {
                        "host": "Sign-in URL",
                        "port": "Port (optional)",
                        "login": "Login (optional)",
                        "password": "API token or password",
                    },
                    "placeholders": {
                        "host": "https://app.pseven.io",
                        "port": "only if the sign-in URL has none (443 for https); the Test button needs it",
                        "login": "user@work.org, only to sign in with a password instead of a token",
                        "password": "API token (Studio: user menu > API token), or the login's password",
                    },
                },
            }
        ],
        # @task.pseven (airflow_provider_pseven.decorators.pseven; docs/patterns.md).
        "task-decorators": [
            {"name": "pseven", "class-name": "airflow_provider_pseven.decorators.pseven.pseven_task"}
        ],
        "extra-links": ["airflow_provider_pseven.links.PsevenRunLink"],
        # The "pSeven run" tab (docs/ui.md): loaded by the API server; imports no FastAPI until used.
        "plugins": [
            {"name": "pseven_ui", "plugin-class": "airflow_provider_pseven.ui.plugin.PsevenUiPlugin"}
        ],
        # pseven://{host}/{storage path} Assets (e.g. the asset of a RunEventTrigger watcher).
        "asset-uris": [
            {
                "schemes": ["pseven"],
                "handler": "airflow_provider_pseven.assets.sanitize_uri",
                "factory": "airflow_provider_pseven.assets.create_asset",
                "to_openlineage_converter": "airflow_provider_pseven.assets.convert_asset_to_openlineage",
            }
        ],
    }
