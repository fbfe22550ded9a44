import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Set when SIGINT or SIGTERM arrives, so long-running commands stop gracefully.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    var isSet: Bool { flag.load(ordering: .acquiring) }

    func set() { flag.store(true, ordering: .releasing) }

    /// Routes SIGINT and SIGTERM to this flag (instead of ending the process), calling `onSignal` once each.
    func installSignalHandlers(onSignal: @escaping @Sendable (Int32) -> Void) {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in
                self?.set()
                onSignal(sig)
            }
            source.resume()
            // The sources live as long as the process: keep them from being released.
            _ = Unmanaged.passRetained(source as AnyObject)
        }
    }
}
