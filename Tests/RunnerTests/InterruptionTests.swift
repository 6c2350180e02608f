import Foundation
import Runner
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite(.serialized) struct InterruptionTests {
    @Test func aSignalIsNotedAndWakesASleeper() {
        Interruption.install()
        Interruption.clear()
        // Test threads may block signals; this one must take them, as the runner's main thread does.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        #expect(Interruption.signal == nil)
        #expect(Interruption.sleep(seconds: 0.01) == false)
        raise(SIGTERM)
        #expect(Interruption.signal == SIGTERM)
        // A long sleep returns at once: the pipe is readable.
        #expect(Interruption.sleep(seconds: 30))
        #expect(Interruption.exitCode(for: SIGTERM) == 143)
        #expect(Interruption.exitCode(for: SIGINT) == 130)
        raise(SIGINT)
        #expect(Interruption.signal == SIGTERM, "the first signal is the one kept")
        Interruption.clear()
        #expect(Interruption.signal == nil)
    }
}
