"""Drives `coordination-hub mcp` with the official MCP Python SDK (PyPI `mcp`).

Usage: python mcp_client.py BINARY [--hub URL]

Lists the tools and checks them against the operation table (as the OpenAPI
document the same binary prints describes it), then carries a workflow from
create to complete over stdio: create, start, register an agent, claim and
complete every task, and read the finished state and its events. Also checks
that errors come back as tool errors carrying the hub's error object.
Exits non-zero with a message on the first failed check.
"""

import asyncio
import json
import subprocess
import sys
import tempfile
import uuid

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


class CheckFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


def envelope(result):
    """The hub's JSON envelope of a tool result (text content), with is_error."""
    check(result.content and result.content[0].type == "text", f"no text content: {result}")
    body = json.loads(result.content[0].text)
    check(result.structured_content == body, "structured content differs from the text content")
    return body, bool(result.is_error)


async def call(session, name, arguments):
    body, is_error = envelope(await session.call_tool(name, arguments))
    check(not is_error and body["status"] == "success", f"{name} failed: {json.dumps(body)}")
    return body["result"]


async def call_error(session, name, arguments, code):
    body, is_error = envelope(await session.call_tool(name, arguments))
    check(is_error, f"{name} {arguments} should be a tool error, got {json.dumps(body)}")
    check(body["status"] == "error" and body["error"]["code"] == code,
          f"{name} {arguments}: expected {code}, got {json.dumps(body)}")
    check(body["error"]["message"], "an error without a message")


def operation_table(binary):
    """(workflow operations, hub operations) from the binary's OpenAPI document."""
    document = json.loads(subprocess.run([binary, "openapi"], check=True, capture_output=True).stdout)
    every, hub = set(), set()
    for path in document["paths"]:
        parts = path.split("/")
        if path.startswith("/v1/workflows/{workflow_id}/"):
            every.add(parts[-1])
        elif len(parts) == 3 and parts[1] == "v1" and parts[2] not in ("operations", "workflows"):
            hub.add(parts[2])
    return every - hub, hub


async def run(binary, hub_url, workdir):
    workflow_ops, hub_ops = operation_table(binary)
    args = ["mcp"] + (["--hub", hub_url] if hub_url else [])
    server = StdioServerParameters(command=binary, args=args, cwd=workdir)
    async with stdio_client(server) as (read, write):
        async with ClientSession(read, write) as session:
            info = await session.initialize()
            check(info.server_info.name == "coordination-hub", f"server name {info.server_info.name}")

            tools = {tool.name: tool for tool in (await session.list_tools()).tools}
            expected = {op.replace("-", "_") for op in workflow_ops | hub_ops}
            check(set(tools) == expected,
                  f"tools differ from the operation table: missing {sorted(expected - set(tools))}, "
                  f"extra {sorted(set(tools) - expected)}")
            for name, tool in tools.items():
                schema = tool.input_schema
                check(schema.get("type") == "object", f"{name}: input schema is not an object")
                check(schema["properties"]["workflow_id"]["type"] == "string", f"{name}: no workflow_id")
                requires_id = "workflow_id" in schema.get("required", [])
                check(requires_id == (name.replace("_", "-") in workflow_ops),
                      f"{name}: workflow_id required={requires_id}")
            for name in ("get_status", "claim_task", "create", "publish_event"):
                check(name in tools, f"no {name} tool")

            workflow = "mcp_" + uuid.uuid4().hex[:12]
            agent = "agent_" + uuid.uuid4().hex[:8]
            created = await call(session, "create", {
                "workflow_id": workflow,
                "name": "Driven over MCP",
                "phases": [
                    {"name": "build", "tasks": [
                        {"task_id": "write_code", "role": "code"},
                        {"task_id": "write_tests", "role": "code", "depends_on": ["write_code"]},
                    ]},
                    {"name": "document", "tasks": [{"task_id": "write_docs", "role": "code"}]},
                ],
            })
            check(created["status"] == "created", f"create: {created}")
            await call(session, "start", {"workflow_id": workflow})
            await call(session, "register_agent", {"agent_id": agent, "specializations": ["code"]})

            done = []
            for _ in range(10):
                claimed = await call(session, "claim_task", {"workflow_id": workflow, "agent_id": agent})
                if not claimed["tasks"]:
                    break
                for task in claimed["tasks"]:
                    await call(session, "complete_task", {
                        "lease_id": task["lease_id"], "result": {"summary": f"did {task['task_id']}"}})
                    done.append(task["task_id"])
            check(done == ["write_code", "write_tests", "write_docs"], f"tasks completed in order {done}")

            state = (await call(session, "get_status", {"workflow_id": workflow}))["workflow_state"]
            check(state["status"] == "completed", f"workflow status {state['status']}")
            events = await call(session, "get_events", {"workflow_id": workflow, "event_types": ["completed"]})
            check(events["count"] == 1, f"completed events: {events}")

            # Errors: tool errors with the hub's error object, and nothing changed.
            await call_error(session, "get_status", {}, "INVALID_ARGUMENTS")
            await call_error(session, "pause", {"workflow_id": workflow, "no_such_parameter": 1}, "INVALID_PARAMETERS")
            await call_error(session, "pause", {"workflow_id": workflow}, "INVALID_TRANSITION")
            await call_error(session, "get_status", {"workflow_id": "../etc"}, "INVALID_WORKFLOW_ID")
            await call_error(session, "complete_task", {"lease_id": "lease_not_a_lease"}, "LEASE_EXPIRED")
            await call_error(session, "no_such_tool", {}, "OPERATION_NOT_FOUND")
            after = (await call(session, "get_status", {"workflow_id": workflow}))["workflow_state"]
            check(after["state_version"] == state["state_version"], "a failed call changed the workflow")
    mode = f"through {hub_url}" if hub_url else "on the local store"
    print(f"mcp_client.py: {len(tools)} tools; workflow {workflow} driven to completed {mode}: ok")


def main():
    if len(sys.argv) not in (2, 4) or (len(sys.argv) == 4 and sys.argv[2] != "--hub"):
        sys.exit(__doc__)
    binary, hub_url = sys.argv[1], sys.argv[3] if len(sys.argv) == 4 else None
    with tempfile.TemporaryDirectory(prefix="coordination-hub-mcp.") as workdir:
        try:
            asyncio.run(run(binary, hub_url, workdir))
        except* CheckFailed as group:
            sys.exit(f"mcp_client.py: FAILED: {first_failure(group)}")


def first_failure(group):
    """The CheckFailed inside the task groups' exception groups."""
    while isinstance(group, BaseExceptionGroup):
        group = group.exceptions[0]
    return group


if __name__ == "__main__":
    main()
