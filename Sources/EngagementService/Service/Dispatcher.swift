import Foundation
import JSONRPC
import Logging
import Monitoring
import RPCTransport

/// Turns one valid request into a response body: finds the method, checks authentication and role,
/// validates params, runs the handler and maps every failure to the documented error set. It is what the
/// transport hands each request to.
public struct Dispatcher: RPCResponder {
    public let registry: MethodRegistry
    public let database: TenantDatabase
    public let logger: Logger
    /// Calls counted by method and outcome, with their durations; nil: not measured.
    public let metrics: ServiceMetrics?
    /// Checks every result against its method's declared result schema and answers -32603 when it does not
    /// match (tests turn it on, so a declaration that drifts from what the database renders fails them).
    public let checksResults: Bool
    /// Event subscriptions (`events.subscribe`); nil: events are not offered.
    public let events: EventHub?
    /// Failed authentications per connection and source address (`session.authenticate` backs off).
    public let authentication: AuthenticationGuard
    /// Each organisation's request budget; nil: none.
    public let budgets: RequestBudgets?
    /// A span per call (`CallTracing`) for the process's tracer (`ENGAGEMENT_TRACING`); off, none is started.
    public let tracing: Bool

    public init(
        registry: MethodRegistry, database: TenantDatabase, logger: Logger, metrics: ServiceMetrics? = nil, checksResults: Bool = false,
        events: EventHub? = nil,
        authentication: AuthenticationGuard = AuthenticationGuard(ServerConfiguration().authenticationThrottle),
        budgets: RequestBudgets? = nil, tracing: Bool = false
    ) {
        self.registry = registry
        self.database = database
        self.logger = logger
        self.metrics = metrics
        self.checksResults = checksResults
        self.events = events
        self.authentication = authentication
        self.budgets = budgets
        self.tracing = tracing
    }

    public func openSession(connectionID: UInt64, peer: String?, outbound: ConnectionOutbound) -> Session {
        Session(connectionID: connectionID, peer: peer, outbound: outbound)
    }

    public func isBarrier(_ request: Request) -> Bool { registry[request.method]?.isBarrier ?? false }

    public func respond(to request: Request, session: Session) async -> ResponseBody {
        let requestID = session.nextRequestID()
        let methodLabel = registry[request.method] == nil ? "(unknown)" : request.method
        guard tracing else { return await answer(request, methodLabel: methodLabel, session: session, requestID: requestID) }
        return await CallTracing.server(method: methodLabel, requestID: requestID, organisation: session.principal?.organisationID) {
            await answer(request, methodLabel: methodLabel, session: session, requestID: requestID)
        }
    }

    /// The call's answer, logged and counted.
    private func answer(_ request: Request, methodLabel: String, session: Session, requestID: String) async -> ResponseBody {
        var logger = self.logger
        logger[metadataKey: "request"] = "\(requestID)"
        logger[metadataKey: "method"] = "\(request.method)"
        let started = ContinuousClock.now
        let body = await execute(request, session: session, logger: logger, requestID: requestID)
        let elapsed = ContinuousClock.now - started
        let outcome: String
        switch body {
        case .result: outcome = "ok"
        case .error(let error):
            outcome = String(error.code.rawValue)
            if error.code == .internalError {
                logger.error("call failed", metadata: ["reason": "\(error.reason)"])
            } else {
                logger.debug("call refused", metadata: ["code": "\(error.code.rawValue)", "reason": "\(error.reason)"])
            }
        }
        metrics?.recordCall(method: methodLabel, outcome: outcome, duration: elapsed)
        logger.debug("call done", metadata: ["outcome": "\(outcome)", "ms": "\(elapsed.milliseconds)"])
        return body
    }

    private func execute(_ request: Request, session: Session, logger: Logger, requestID: String) async -> ResponseBody {
        guard let method = registry[request.method] else {
            return .error(RPCError(.methodNotFound, "Method not found: \(request.method)", reason: "method_not_found"))
        }
        if case .role(let minimum) = method.access {
            guard let principal = session.principal else {
                return .error(RPCError(
                    .unauthenticated, "Unauthenticated: call session.authenticate first", reason: "not_authenticated"))
            }
            guard principal.role >= minimum else {
                return .error(RPCError(
                    .forbidden, "Forbidden: \(request.method) needs the \(minimum.rawValue) role or higher",
                    reason: "role_too_low"))
            }
            if let budgets, let refusal = await Self.spend(budgets, principal.organisationID) { return .error(refusal) }
        }
        let params: ParamReader
        do {
            params = try ParamReader(request.params, fields: method.params)
        } catch {
            return .error(error)
        }
        let context = CallContext(
            method: request.method, session: session, database: database, logger: logger, requestID: requestID, events: events,
            authentication: authentication)
        do {
            let body = try await method.handler(context, params)
            if checksResults, case .result(let bytes) = body { return checked(bytes, of: method, logger: logger) ?? body }
            return body
        } catch {
            // A handler answering "unauthenticated" found the session's key no longer valid: forget it.
            if error.code == .unauthenticated { session.bind(nil) }
            return .error(error)
        }
    }
}

extension Dispatcher {
    /// Over its budget, an organisation's call waits for its token (holding its connection's in-flight slot, so a
    /// flooding connection stops being read: back-pressure, not busy refusals) up to `maximumBudgetWait`; a call
    /// that would wait longer is refused with how long until its token.
    static let maximumBudgetWait: Duration = .seconds(2)

    static func spend(_ budgets: RequestBudgets, _ organisation: UUID) async -> RPCError? {
        var waited: Duration = .zero
        while let wait = budgets.take(organisation) {
            guard waited + wait <= maximumBudgetWait else {
                return RPCError(
                    .overCapacity, "Over capacity: this organisation's request budget is spent; retry later", reason: "rate_limited",
                    retryAfterMilliseconds: max(1, Int(wait.milliseconds.rounded(.up))))
            }
            try? await Task.sleep(for: wait)
            waited += wait
        }
        return nil
    }

    /// nil when `bytes` is a document the method's result schema accepts; otherwise the error to answer.
    func checked(_ bytes: [UInt8], of method: MethodDefinition, logger: Logger) -> ResponseBody? {
        let problems: [FieldProblem]
        do {
            problems = method.result.problems(in: try JSONParser.parse(bytes), at: "result")
        } catch {
            problems = [FieldProblem(path: "result", message: "is not JSON: \(error)")]
        }
        guard !problems.isEmpty else { return nil }
        logger.error("result does not match the declared schema", metadata: [
            "problems": "\(problems.map { "\($0.path) \($0.message)" })"
        ])
        return .error(RPCError(.internalError, reason: "result_schema_mismatch"))
    }
}

extension Duration {
    var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
