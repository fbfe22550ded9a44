/// The outcome of one webhook POST.
public enum WebhookAttempt: Sendable, Equatable {
    /// The receiver answered with a 2xx status.
    case delivered(status: Int)
    /// The receiver answered with another status (`status` set; redirects are not
    /// followed, so a 3xx lands here), or did not answer: a timeout, a refused or
    /// reset connection, a URL the allowlist refuses (`status` nil). `error` says
    /// which, for a person to read.
    case failed(status: Int?, error: String)

    /// Whether the receiver took the delivery.
    public var isDelivered: Bool {
        guard case .delivered = self else { return false }
        return true
    }

    /// The HTTP status the receiver answered with, if it answered.
    public var status: Int? {
        switch self {
        case .delivered(let status): status
        case .failed(let status, _): status
        }
    }
}
