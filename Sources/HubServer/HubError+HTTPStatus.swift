import HTTPTypes
import HubCore

extension HubError.Code {
    /// The HTTP status of §13's table for this code.
    public var httpStatus: HTTPResponse.Status {
        switch self {
        case .invalidArguments, .invalidParameters, .invalidWorkflowID: return .badRequest
        case .unauthorized: return .unauthorized
        case .forbidden, .pathNotAllowed, .urlNotAllowed: return .forbidden
        case .workflowNotFound, .taskNotFound, .agentNotFound, .checkpointNotFound, .subscriptionNotFound,
            .operationNotFound:
            return .notFound
        case .resourceTimeout: return .requestTimeout
        case .workflowExists, .invalidTransition, .versionConflict, .leaseExpired, .workflowIncomplete,
            .budgetExhausted, .dependencyUnavailable:
            return .conflict
        case .payloadTooLarge: return .contentTooLarge
        case .evidenceMissing, .evidenceRejected, .checkpointCorrupt: return .unprocessableContent
        case .storeUnavailable: return .serviceUnavailable
        default: return .internalServerError
        }
    }
}
