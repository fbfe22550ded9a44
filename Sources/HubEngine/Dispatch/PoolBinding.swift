import HubCore

/// Which registered agents a workflow's pool binds (`start`'s `agent_pool_size`, §17).
enum PoolBinding {
    /// Up to `count` live agents, those covering the wanted roles first, then the best
    /// track records (agents without one after those with one), then by id.
    static func choose(count: Int, roles: [String], from agents: [Agent]) -> [String] {
        let live = agents.filter { $0.status == .available || $0.status == .busy }
        let ranked = live.sorted { a, b in
            let aCovers = roles.isEmpty || a.specializations.contains(where: roles.contains)
            let bCovers = roles.isEmpty || b.specializations.contains(where: roles.contains)
            if aCovers != bCovers { return aCovers }
            let aScore = a.record.successRate ?? -1
            let bScore = b.record.successRate ?? -1
            if aScore != bScore { return aScore > bScore }
            return a.agentID < b.agentID
        }
        return Array(ranked.prefix(max(0, count)).map(\.agentID))
    }
}
