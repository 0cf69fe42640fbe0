import JSONRPC
import Logging
import Monitoring
import NIOCore
import NIOPosix
import PostgresClient
import RPCTransport
import ServiceLifecycle
import Synchronization

/// The assembled service: database pool, method registry, dispatcher and TLS server, ready to be run by a
/// `ServiceGroup`. Graceful shutdown stops the server first (drain), then the pool.
public struct EngagementApplication: Sendable {
    public let server: RPCServer
    public let pool: ConnectionPool
    /// The background work's own connections (`ServerConfiguration.backgroundPool`).
    let background: ConnectionPool
    public let registry: MethodRegistry
    public let metrics: ServiceMetrics
    /// The monitoring endpoint (`/metrics`, `/healthz`, `/readyz`); nil when turned off.
    public let monitoring: MonitoringServer?

    public static func start(
        configuration: ServerConfiguration, registry: MethodRegistry = .standard(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger
    ) async throws -> EngagementApplication {
        let pool = ConnectionPool(configuration: configuration.pool(configuration.databaseURL), logger: logger)
        let background = ConnectionPool(configuration: configuration.backgroundPool(configuration.databaseURL), logger: logger)
        let replica: ReplicaRoute?
        do {
            replica = try await ReplicaRoute.connect(configuration, logger: logger)
        } catch {
            await pool.shutdown()
            await background.shutdown()
            throw error
        }
        let metrics = ServiceMetrics()
        let database = TenantDatabase(
            pool: pool,
            shares: OrganisationShares(
                capacity: configuration.databasePoolSize, contendedShare: configuration.connectionsPerOrganisation,
                time: configuration.organisationDatabaseTime, timeout: configuration.databaseAcquireTimeout),
            metrics: metrics, replica: replica, tracing: configuration.tracing)
        // A schema newer than this server knows is refused before anything listens; an older one (the migrate job
        // has not run yet) is served but not ready. An unreachable database is retried by every call.
        if let expected = configuration.expectedSchemaVersion,
           case .newer(let applied, let expected) = SchemaCheck(applied: try await SchemaCheck.appliedVersion(database), expected: expected)
        {
            await pool.shutdown()
            await background.shutdown()
            await replica?.pool.shutdown()
            throw SchemaTooNew(applied: applied, expected: expected)
        }
        let events = EventHub(database: database, logger: logger)
        let dispatcher = Dispatcher(
            registry: registry, database: database, logger: logger, metrics: metrics, checksResults: configuration.checksResultSchemas,
            events: events,
            authentication: AuthenticationGuard(configuration.authenticationThrottle),
            budgets: configuration.organisationRequestsPerSecond > 0
                ? RequestBudgets(RequestBudget(
                    rate: Double(configuration.organisationRequestsPerSecond), burst: Double(2 * configuration.organisationRequestsPerSecond)))
                : nil,
            tracing: configuration.tracing)
        let server = try await RPCServer.bind(
            configuration: configuration.transport, responder: dispatcher, group: group, logger: logger,
            observer: TransportMetricsObserver(metrics: metrics))
        collectState(metrics: metrics, pool: pool, server: server)
        let listenURL = configuration.databaseListenURL ?? configuration.databaseURL
        var monitoring: MonitoringServer?
        if let port = configuration.metricsPort {
            let expected = configuration.expectedSchemaVersion
            do {
                monitoring = try await MonitoringServer.bind(
                    host: configuration.metricsHost, port: port, metrics: metrics,
                    readiness: { await readiness(database: database, expected: expected) }, group: group, logger: logger)
            } catch {
                server.shutdown()
                await pool.shutdown()
                await background.shutdown()
                await replica?.pool.shutdown()
                throw error
            }
        }
        // Background work takes its own connections, never the organisations' shares of the pool.
        return EngagementApplication(
            server: server, pool: pool, background: background, registry: registry, metrics: metrics,
            monitoring: monitoring, replica: replica,
            heartbeat: replica.map { _ in
                ReplicaHeartbeat(
                    pool: ConnectionPool(configuration: configuration.backgroundPool(configuration.databaseURL, connections: 1), logger: logger),
                    interval: ReplicaRoute.heartbeatInterval, logger: logger)
            },
            maintenance: MaintenanceService(pool: background, interval: configuration.maintenanceInterval, logger: logger),
            rollups: RollupRefresher(
                conninfo: listenURL, pool: background, debounce: configuration.rollupDebounce, metrics: metrics,
                logger: logger),
            triggers: TriggerWorker(
                conninfo: listenURL, pool: background, pollInterval: configuration.triggerPollInterval, logger: logger),
            events: EventListener(conninfo: listenURL, hub: events, tick: .seconds(1), logger: logger))
    }

    /// The read replica of the reports, when configured.
    public let replica: ReplicaRoute?
    let heartbeat: ReplicaHeartbeat?
    let maintenance: MaintenanceService
    let rollups: RollupRefresher
    let triggers: TriggerWorker
    let events: EventListener
    /// The event subscriptions of every connection.
    public var eventHub: EventHub { events.hub }

    /// In start order; `ServiceGroup` shuts them down in reverse.
    public var services: [any Service] {
        (monitoring.map { [MonitoringService(server: $0)] } ?? [])
            + [PoolService(pool: pool), PoolService(pool: background)]
            + (replica.map { [PoolService(pool: $0.pool)] } ?? []) + (heartbeat.map { [$0] } ?? [])
            + [maintenance, rollups, triggers, events, TransportService(server: server)]
    }
}

extension MethodRegistry {
    /// Every method of the service, plus `additional` ones. Later issues add their method groups here.
    public static func standard(adding additional: [MethodDefinition] = []) -> MethodRegistry {
        let document = Mutex<[UInt8]>([])
        let registry = MethodRegistry(
            BuiltinMethods.all(discoveryDocument: { document.withLock { $0 } }) + PartyMethods.all + ServiceMethods.all
                + TemplateMethods.all + EngagementMethods.all + PortfolioMethods.all
                + ReportingRoleMethods.all + UserMethods.all + ContractMethods.all + KPIMethods.all + CheckInMethods.all
                + AttributionMethods.all + TrackingReportMethods.all + HealthModelMethods.all + HealthMethods.all
                + RiskMethods.all + RiskRuleMethods.all + TouchpointMethods.all + PlaybookMethods.all
                + ProductAdoptionMethods.all + SuccessPlanMethods.all + BlueprintMethods.all + TimelineMethods.all
                + ReminderMethods.all + TriggerRuleMethods.all + EventMethods.all + OpportunityMethods.all
                + ProjectMethods.all + CommitmentMethods.all + SLACreditMethods.all + RenewalMethods.all
                + additional)
        let rendered = JSONWriter.encode(OpenRPCDocument.render(registry))
        document.withLock { $0 = rendered }
        return registry
    }
}

/// Runs the pool's idle health checks; on shutdown, closes the pool.
struct PoolService: Service {
    let pool: ConnectionPool

    func run() async throws {
        let pool = self.pool
        await cancelWhenGracefulShutdown { await pool.run() }
        await pool.shutdown()
    }
}

/// Serves the transport; graceful shutdown lets every connection answer what it received, cancellation closes
/// them at once.
struct TransportService: Service {
    let server: RPCServer

    func run() async throws {
        let server = self.server
        await withTaskCancellationOrGracefulShutdownHandler {
            await server.run()
        } onCancelOrGracefulShutdown: {
            server.shutdown()
        }
    }
}
