import HubCore
import HubStore

/// `get-metrics`: the seed's `event_system_performance`, measured fields only (§10).
enum GetMetrics {
    static let descriptor = OperationDescriptor(
        "get-metrics", scope: .hub, mutating: false, parameters: NoParameters.self,
        summary:
            "Measured figures of the event system, workflows, agents and this process; null where nothing was measured.",
        discussion: """
            Delivery figures (batches, latency percentiles, dedup, compression, retries, dead letters) are recorded \
            by the delivery service in the store, so any process reports them. A subscription's pending counts the \
            events after its cursor that its patterns and filters select (what get-events would hand it); one with \
            more than 100000 events after its cursor is not counted and shows null, as does event_queue_depth, their \
            sum. agent_performance.success_rate is the percent of task attempts that completed (completions over \
            completions plus failed runs — fail-task, a timeout, an agent gone silent — one decimal, as in \
            monitor-pool); average_task_completion is the mean execution time of completed tasks. memory and cpu are \
            this process's own. With a workflow id, workflow_efficiency, agent_performance, the events stored and the \
            batching and retention in force are that workflow's (its tasks, and the agents of its pool, of its tasks \
            and of its finished runs); scope.hub_wide names the sections that stay \
            the hub's (delivery is recorded for the hub as a whole).
            """,
        example: "coordination-hub get-metrics",
        workflowID:
            "workflow_efficiency, agent_performance, the events stored and the batching and retention in force are this workflow's; delivery figures stay hub-wide (result.scope.hub_wide).",
        handler: run)

    static func run(_ context: OperationContext, _: NoParameters) async throws -> OperationOutcome {
        let retention = context.hub.configuration.eventRetention
        let workflowID = context.workflowID
        let now = context.now
        let figures = try await context.store.read { tx in
            try Figures.read(tx, retention: retention, workflowID: workflowID)
        }
        var result = figures.json
        if let workflow = figures.workflow {
            // §17: a workflow id narrows the figures to that workflow's.
            let view = WorkflowStateView(snapshot: workflow.snapshot, now: now, agents: workflow.agents)
            let tasks = workflow.snapshot.tasks
            // A failed or retried task keeps its last attempt's time: only completed tasks' count.
            let times = tasks.filter { $0.status == .completed }.compactMap(\.executionMilliseconds)
            let attempts = figures.workflowAttempts ?? AttemptOutcomes()
            var efficiency = view.metrics
            efficiency["workflow_id"] = .string(workflow.snapshot.workflow.id)
            efficiency["status"] = .string(workflow.snapshot.workflow.status.rawValue)
            result["workflow_efficiency"] = efficiency
            result["agent_performance"] = [
                // The pool, the tasks' agents and every agent that ran one of its attempts (a task
                // given back after a timeout no longer names the agent that ran it).
                "agents": .count(
                    workflow.agents.pool.union(tasks.compactMap(\.assignedAgent)).union(attempts.agents).count),
                // Attempts, as hub-wide (the agents' records count each run) and as success_rate.
                "tasks_completed": .count(attempts.completed), "tasks_failed": .count(attempts.failed),
                "success_rate": Figures.percent(attempts.completed, failed: attempts.failed),
                "average_task_completion": times.isEmpty
                    ? .null : .string(HubDuration(milliseconds: times.saturatingSum() / Int64(times.count)).description)
                    ,
            ]
            let id = workflow.snapshot.workflow.id
            let own = figures.persistence.retention(of: id)
            result["persistence_performance"]?["retention_period"] = .string(own.retention.description)
            result["persistence_performance"]?["persistence_policy"] = .string(own.policy.rawValue)
            result["batching_performance"]?["default_batch_size"] =
                figures.batching.effective(for: id).defaults.json["batch_size"] ?? .null
            result["scope"] = [
                "workflow_id": .string(id),
                "hub_wide": [
                    "batching_performance (delivery)", "async_processing_performance", "filtering_optimization",
                    "persistence_performance (compression, retention runs)", "system_health",
                ],
            ]
        }
        return OperationOutcome(result: ["event_system_performance": result])
    }

    struct Figures: Sendable {
        var delivery: DeliveryStatistics
        var batching: BatchingSettings
        var processing: AsyncProcessing
        var persistence: PersistencePolicy
        var subscriptions: [Subscription]
        /// Each subscription's pending events (`nil`: too many to count), in the order of `subscriptions`.
        var pending: [Int?]
        var eventCount: Int
        var eventBytes: Int64
        var storageBytes: Int64
        var workflowsByStatus: [(WorkflowStatus, Int)]
        var agents: [Agent]
        /// The workflow the figures are narrowed to, with its agents.
        var workflow: (snapshot: WorkflowSnapshot, agents: WorkflowAgents)?
        /// That workflow's attempts that ended in a completion or a failure.
        var workflowAttempts: AttemptOutcomes?

        static func read(_ tx: any StoreReader, retention: HubDuration, workflowID: String? = nil) throws -> Figures {
            let volume = try tx.eventVolume(of: workflowID)
            var workflow: (snapshot: WorkflowSnapshot, agents: WorkflowAgents)?
            var attempts: AttemptOutcomes?
            if let workflowID, let found = try tx.workflow(workflowID) {
                let snapshot = WorkflowSnapshot(
                    workflow: found, phases: try tx.phases(of: workflowID), tasks: try tx.tasks(of: workflowID))
                workflow = (snapshot, try WorkflowAgents.read(workflowID, tasks: snapshot.tasks, in: tx))
                attempts = try tx.attemptOutcomes(workflowID: workflowID)
            }
            let subscriptions = try tx.subscriptions()
            return Figures(
                delivery: DeliveryStatistics(json: try tx.setting(DeliveryStatistics.settingKey) ?? .emptyObject),
                batching: BatchingSettings(json: try tx.setting(EventSettingKey.batching) ?? .emptyObject),
                processing: AsyncProcessing(json: try tx.setting(EventSettingKey.asyncProcessing) ?? .emptyObject),
                persistence: PersistencePolicy(
                    json: try tx.setting(EventSettingKey.persistence) ?? .emptyObject, defaultRetention: retention),
                subscriptions: subscriptions, pending: try SubscriptionScan.pendingCounts(tx, subscriptions),
                eventCount: volume.count, eventBytes: volume.dataBytes,
                storageBytes: try tx.storageBytes(),
                workflowsByStatus: try WorkflowStatus.allCases.map { status in
                    (status, try tx.workflows(WorkflowQuery(statuses: [status], includeArchived: true, limit: 1)).total)
                },
                agents: try tx.agents(), workflow: workflow, workflowAttempts: attempts)
        }

        /// success_rate as monitor-pool gives it (§4): percent of attempts that completed, one decimal.
        static func percent(_ completed: Int, failed: Int) -> JSONValue {
            TrackRecord.successRate(completed: completed, failed: failed).map { .double($0) } ?? .null
        }

        /// The mean time of the completed tasks the agents' records count; `nil` when none
        /// completed, or a record kept from before completed tasks' time was counted.
        var averageCompletedMilliseconds: Int64? {
            let completed = agents.reduce(0) { $0 + $1.record.tasksCompleted }
            guard completed > 0 else { return nil }
            var total: Int64 = 0
            for agent in agents {
                guard let ms = agent.record.completedMilliseconds else { return nil }
                total += ms
            }
            return total / Int64(completed)
        }

        func ratio(_ a: Int, _ b: Int) -> JSONValue { b == 0 ? .null : .double(rounded(Double(a) / Double(b))) }
        func rounded(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }

        var json: JSONValue {
            let d = delivery
            // Unknown when any subscription's is: a total without it would be a guess.
            let queueDepth: Int? = pending.contains(nil) ? nil : pending.reduce(0) { $0 + ($1 ?? 0) }
            let matched = subscriptions.reduce(0) { $0 + $1.counters.matchedByPattern.values.reduce(0, +) }
            let filtered = subscriptions.reduce(0) { $0 + $1.counters.filtered }
            var byStatus: JSONValue = .emptyObject
            for (status, n) in workflowsByStatus { byStatus[status.rawValue] = .count(n) }
            let completed = agents.reduce(0) { $0 + $1.record.tasksCompleted }
            let failed = agents.reduce(0) { $0 + $1.record.tasksFailed }
            func latency(_ p: Double) -> JSONValue { d.latency.percentile(p).map { .double(rounded($0)) } ?? .null }
            return [
                "batching_performance": [
                    "batches_delivered": .count(d.batches), "events_delivered": .count(d.eventsDelivered),
                    "mean_batch_size": d.meanBatchSize.map { .double(rounded($0)) } ?? .null,
                    "deduplication_rate": d.deduplicationRate.map { .double(rounded($0)) } ?? .null,
                    "compression_ratio": d.compressionRatio.map { .double(rounded($0)) } ?? .null,
                    "default_batch_size": batching.defaults.json["batch_size"] ?? .null,
                ],
                "async_processing_performance": [
                    "processing_pool_size": .count(processing.poolSize),
                    "priority_scheme": .string(processing.priorityScheme.rawValue),
                    "delivery_latency_ms": d.latency.total == 0
                        ? .null
                        : [
                            "p50": latency(0.5), "p95": latency(0.95), "p99": latency(0.99),
                            "max": .int(d.latency.maximum),
                        ],
                    "throughput_events_per_second": d.throughput.map { .double(rounded($0)) } ?? .null,
                    "retries": .count(d.retries), "dead_letters": .count(d.deadLettered),
                    "event_queue_depth": .optional(queueDepth),
                ],
                "filtering_optimization": [
                    "subscriptions": .count(subscriptions.count),
                    "noise_reduction_rate": ratio(filtered, matched),
                    "per_subscription": .array(
                        zip(subscriptions, pending).map { s, pending in
                            let c = s.counters
                            return [
                                "subscription_id": .string(s.id), "callback": .string(s.callback),
                                "examined": .count(c.examined),
                                "matched": .count(c.matchedByPattern.values.reduce(0, +)),
                                "filtered": .count(c.filtered),
                                "delivered": .count(c.delivered), "acked": .count(c.acked),
                                "retried": .count(c.retried),
                                "dead_lettered": .count(c.deadLettered),
                                "pending": .optional(pending),
                            ]
                        }),
                ],
                "persistence_performance": [
                    "events_stored": .count(eventCount), "event_data_bytes": .int(eventBytes),
                    "retention_period": .string(persistence.retention.description),
                    "persistence_policy": .string(persistence.policy.rawValue),
                    "last_retention_at": persistence.json["last_enforced_at"] ?? .null,
                    "events_removed_last_run": .optional(persistence.lastRemoved),
                    "compressed_events": .count(persistence.compressedEvents),
                    "compression_ratio": persistence.compressedBytesBefore == 0
                        ? .null
                        : .double(
                            rounded(
                                Double(persistence.compressedBytesAfter) / Double(persistence.compressedBytesBefore))),
                ],
                "workflow_efficiency": [
                    "workflows": .count(workflowsByStatus.reduce(0) { $0 + $1.1 }), "workflows_by_status": byStatus,
                ],
                "agent_performance": [
                    "agents": .count(agents.count), "tasks_completed": .count(completed),
                    "tasks_failed": .count(failed),
                    "success_rate": Self.percent(completed, failed: failed),
                    "average_task_completion": .optional(
                        averageCompletedMilliseconds.map { HubDuration(milliseconds: $0).description }),
                ],
                "system_health": [
                    "memory_usage_bytes": .optional(ProcessFigures.residentBytes()),
                    "cpu_time_seconds": ProcessFigures.cpuSeconds().map { .double(rounded($0)) } ?? .null,
                    "storage_consumption_bytes": .int(storageBytes), "event_queue_depth": .optional(queueDepth),
                ],
            ]
        }
    }
}
