extension DeliveryMetrics {
    /// Whether `deployment` restored an earlier version rather than shipping a change: the one
    /// place the metrics decide it.
    ///
    /// A restoration counts neither in the deployment frequency nor in the change failure rate
    /// (it is not a change), but its success ends a time-to-restore interval like any success.
    /// A deployment whose status is `rolled_back` is a change failure whatever rolled it back
    /// (its own rollback step or a later restoration); a restoration itself never is one.
    ///
    /// Automatic rollbacks happen inside the failed deployment, so the only restorations are
    /// manual rollbacks (`shiplog rollback`): deployments of their own whose request says so.
    public static func isRestoration(_ deployment: DeploymentRecord) -> Bool {
        deployment.isManualRollback
    }
}
