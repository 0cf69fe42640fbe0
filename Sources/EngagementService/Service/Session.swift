import Foundation
import RPCTransport
import Synchronization

/// A role within an organisation, ordered by what it may do.
public enum OrganisationRole: String, Sendable, CaseIterable, Comparable {
    case viewer, member, manager, admin

    var rank: Int { Self.allCases.firstIndex(of: self)! }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }
}

/// Who a connection acts for once `session.authenticate` succeeded.
public struct Principal: Sendable, Hashable {
    /// The public id of the API key; every call re-checks it in the database (`app.begin_call`).
    public let keyID: String
    public let organisationID: UUID
    public let userID: UUID
    public let role: OrganisationRole
}

/// The state of one client connection: its id for logs and, once authenticated, its principal.
public final class Session: Sendable {
    public let connectionID: UInt64
    /// The client's IP address, where the transport knows it (the authentication throttle counts by it).
    public let peer: String?
    /// Sends the connection notifications (pushed events); nil where there is no connection.
    public let outbound: ConnectionOutbound?
    private let bound = Mutex<Principal?>(nil)
    private let sequence = Atomic<UInt64>(0)

    init(connectionID: UInt64, peer: String? = nil, outbound: ConnectionOutbound? = nil) {
        self.connectionID = connectionID
        self.peer = peer
        self.outbound = outbound
    }

    public var principal: Principal? { bound.withLock { $0 } }

    func bind(_ principal: Principal?) { bound.withLock { $0 = principal } }

    /// A request id for logs: connection and sequence, e.g. `c12-r7`.
    func nextRequestID() -> String {
        let number = sequence.add(1, ordering: .relaxed).newValue
        return "c\(connectionID)-r\(number)"
    }
}
