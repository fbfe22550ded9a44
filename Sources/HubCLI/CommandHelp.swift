/// `help <command>` for the commands that are not operations: what `help` prints for
/// `agent`, `serve`, `mcp`, `openapi` and `version` (the overview lists them too).
enum CommandHelp {
    static func text(_ command: String) -> String? {
        switch command {
        case "agent":
            return """
                \(AgentOptionsParser.usage)

                Runs an agent: registers it, heartbeats at the hub's heartbeat_interval, claims up to
                --max-tasks tasks (1 to 100) of its --roles (of --workflow only, when given), runs each
                task's command field with /bin/sh -c, or instead the command given after --, executed
                directly (its arguments kept as given, nothing expanded by a shell), in the workflow's
                workspace with TASK_ID, TASK_DESCRIPTION, TASK_PAYLOAD, WORKFLOW_ID, PHASE and LEASE_ID
                in its environment, and completes or fails the task by the exit status with the
                output's tail as the result. A command may write what it used, {"tokens": N, "cost":
                X}, to the file TASK_USAGE_FILE names: it is reported as the outcome's usage, so
                token and cost budgets hold for the runner's work; when there is no outcome to carry
                it (the task given back, its lease lost, its outcome refused with LEASE_EXPIRED), a
                heartbeat names the lease in released_leases with the usage, which the hub charges
                to that lease's workflow. What a command leaves running in its
                process group is stopped when it exits (setsid keeps a process out of it). Progress
                goes to stderr, each outcome's line naming its task and lease; when claims find
                nothing, why (the claim's next_steps: a paused workflow, a spent budget) is said once
                each time it changes. Without --roles it takes only
                the tasks that name no role.
                --idle-delay (default 500ms) is the pause between claims that found nothing on the
                local store; with --hub URL claims long-poll the server instead. After a claim that
                failed (a hub restarting) the pause doubles with each failure in a row, up to 5s.
                SIGINT, SIGTERM or SIGHUP: stop claiming, let running commands finish (their outcomes are
                reported, retried while the hub cannot be reached) and give back what has not
                started; a second signal stops the commands and gives their tasks back. A runner
                that stops sets its agent offline (heartbeat "offline": true), so its silence is not
                reported as a failure. A command that exits 0 but whose evidence the hub refuses is
                failed (retryable), so max_retries ends a task whose evidence never comes. A task
                asking for a commit is sent the HEAD its command moved the workspace to; a HEAD it
                found already checked out is not its evidence, except on a retry when it is not
                the HEAD the hub read before the task's first attempt (claim-task's head_before):
                an earlier attempt made that commit, then could not report it. A HEAD that moved
                while another of the runner's tasks ran in the same workspace (--max-tasks above 1)
                is offered by neither: which of them made it cannot be told. Give tasks that need a
                commit a workspace each, or run them one at a time.
                One runner at a time works under an --id: each runner sends a runner_id of its own
                with its registration, heartbeats and claims, and the hub refuses another runner's while the
                agent is live (heard from within 3 heartbeat intervals, not offline). A runner killed
                without stopping holds the id until it has been silent that long; the refusal says
                how long is left.
                Exit status: 0 when stopped by a signal, when its --workflow is finished, and when
                the agent's budget is spent (logged once; running tasks finish first: restarting
                would only be refused again); 1 when it cannot start: an unknown --workflow, another
                runner holding the same --id, or a hub that cannot be reached for 30s (retried
                with a growing pause up to 5s, each retry logged); 1 too when a heartbeat or a claim
                finds that another runner has taken the id over, that the agent was deregistered, or
                that its token is refused (its commands are stopped); 2 for bad options.

                """
        case "serve":
            return """
                \(ServeOptions.usage)

                Serves the HTTP API (POST /v1/workflows/{id}/{operation}, POST /v1/{operation},
                GET /v1/workflows, GET /v1/workflows/{id}, GET /v1/events/stream, GET /metrics,
                GET /healthz, GET /openapi.json) and runs the background work: lease expiry,
                timeouts, interval checkpoints, retention and webhook delivery. --port 0 picks a free
                port; the address is printed on stderr. Without an admin token (--admin-token or
                COORDINATION_HUB_ADMIN_TOKEN, at least 16 characters) only a loopback address may be
                bound. SIGTERM or SIGINT shuts down gracefully. After a start, agents have 3
                heartbeat intervals to reach the server before their silence fails them and ends
                their leases: they could not heartbeat while it was down.

                """
        case "mcp":
            return """
                coordination-hub mcp [--state-dir DIR] [--hub URL] [--token T] [--set KEY=VALUE]

                An MCP server on stdio: every operation is a tool (get_status, claim_task, …) whose
                input schema is the operation's parameters. Works on the local store, or with --hub
                against a running server.

                """
        case "openapi":
            return """
                coordination-hub openapi

                Prints the HTTP API's OpenAPI 3.1 document (the one `serve` serves at /openapi.json).

                """
        case "version":
            return """
                coordination-hub version

                Prints the name and version as one JSON document, the response envelope every call
                prints: {"status": "success", "operation": "version", …, "result": {"name":
                "coordination-hub", "version": "…"}}.

                """
        default:
            return nil
        }
    }
}
