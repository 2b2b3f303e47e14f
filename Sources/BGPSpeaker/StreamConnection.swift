import Glibc
import Dispatch
import Posix
import SystemPackage

/// Why a stream connection ended.
public enum ConnectionEnd: Sendable, Equatable, CustomStringConvertible {
    case closedByPeer
    case failed(SyscallError)
    case closedLocally
    public var description: String {
        switch self {
        case .closedByPeer: "connection closed by peer"
        case .failed(let e): e.description
        case .closedLocally: "closed locally"
        }
    }
}

/// A non-blocking stream socket driven by Dispatch read/write sources on one serial queue.
///
/// Invariants (STYLE.md (d) 1–5):
/// - every method runs on `queue` (checked with `dispatchPrecondition`);
/// - the write source is resumed only while bytes are queued (sources are level-triggered)
///   and is always resumed before `cancel()`, since releasing a suspended source crashes;
/// - the descriptor is closed in the cancel handlers, after both sources are cancelled;
/// - handlers capture `self` weakly; the owner keeps the connection alive and calls `close()`.
/// `@unchecked Sendable`: confined to `queue`.
public final class StreamConnection: @unchecked Sendable {
    public let queue: DispatchQueue
    public let socket: Socket
    private var readSource: DispatchSourceRead?
    /// Reading is paused (the read source suspended): the owner has enough unprocessed input.
    private var readPaused = false
    private var writeSource: DispatchSourceWrite?
    private var writeResumed = false
    private var outQueue: [UInt8] = []
    private var outOffset = 0
    private var connecting = false
    private var closeWhenFlushed = false
    private var closer: Closer?
    public private(set) var isClosed = false

    /// Bytes received (called on `queue`).
    public var onRead: (([UInt8]) -> Void)?
    /// The connection ended (called once, on `queue`); not called after a local `close()`.
    public var onEnd: ((ConnectionEnd) -> Void)?
    /// A write moved data to the socket (RFC 9687 send-hold progress); called once per flush.
    public var onWriteProgress: (() -> Void)?
    /// A non-blocking connect finished: nil on success or the SO_ERROR.
    public var onConnect: ((Errno?) -> Void)?
    /// The descriptor was closed (after `close()`, once both sources are cancelled).
    public var onClosed: (() -> Void)? {
        get { closer?.onClosed ?? pendingOnClosed }
        set { if let closer { closer.onClosed = newValue } else { pendingOnClosed = newValue } }
    }
    private var pendingOnClosed: (() -> Void)?

    public init(socket: Socket, queue: DispatchQueue) {
        self.socket = socket
        self.queue = queue
    }

    deinit { assert(isClosed || readSource == nil, "StreamConnection released while open") }

    /// Starts reading (and, with `connecting`, waits for the connect to complete first).
    public func start(connecting: Bool = false) {
        dispatchPrecondition(condition: .onQueue(queue))
        let fd = socket.descriptor
        let r = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        let w = DispatchSource.makeWriteSource(fileDescriptor: fd, queue: queue)
        r.setEventHandler { @Sendable [weak self] in self?.readable() }
        w.setEventHandler { @Sendable [weak self] in self?.writable() }
        // The cancel handlers own the close: they hold the socket (not `self`, which may be
        // gone by then) and close it after the second one ran.
        let closer = Closer(socket: socket)
        self.closer = closer
        let cancelled: @Sendable () -> Void = { closer.sourceCancelled() }
        r.setCancelHandler(handler: cancelled)
        w.setCancelHandler(handler: cancelled)
        readSource = r
        writeSource = w
        closer.onClosed = pendingOnClosed
        pendingOnClosed = nil
        self.connecting = connecting
        if connecting {
            resumeWrite()
        } else {
            r.resume()
        }
        armReadinessCheck()
    }

    /// A second way to notice input: twice a second, a zero-timeout poll(2). On Linux a read
    /// source on a socket whose write source is suspended and resumed around it has been seen
    /// to miss the event of a reset that came right after our first send (a session then sat in
    /// OpenSent until its 240 s hold timer; RefusedPeerTests). Two syscalls per second per
    /// connection buys that this can never go unnoticed for longer.
    private let readinessCheck = QueueTimer()

    private func armReadinessCheck() {
        readinessCheck.schedule(on: queue, afterMilliseconds: 500, leeway: .milliseconds(100)) { [weak self] in
            guard let self, !self.isClosed else { return }
            if !self.connecting, self.socket.isOpen {
                var p = pollfd(fd: self.socket.descriptor, events: Int16(POLLIN), revents: 0)
                if poll(&p, 1, 0) > 0, p.revents != 0 { self.readable() }
            }
            if !self.isClosed { self.armReadinessCheck() }
        }
    }

    /// Queues bytes and writes what the socket takes now.
    public func send(_ bytes: [UInt8]) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard !isClosed, !closeWhenFlushed else { return }
        if outOffset > 0 && outOffset == outQueue.count { outQueue.removeAll(keepingCapacity: true); outOffset = 0 }
        outQueue.append(contentsOf: bytes)
        if !connecting { flush() }
    }

    public var queuedBytes: Int { outQueue.count - outOffset }

    /// Sends what is queued, then closes (used after a NOTIFICATION). Closes at once when
    /// empty, and after `timeoutMilliseconds` at the latest (a peer that stopped reading never
    /// drains). Until then the connection keeps itself alive, so the owner may drop it.
    public func closeAfterFlush(timeoutMilliseconds: Int64 = 1000) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard !isClosed else { return }
        closeWhenFlushed = true
        if queuedBytes == 0 || connecting { close(); return }
        keepAlive = self
        flushDeadline.schedule(on: queue, afterMilliseconds: timeoutMilliseconds) { [weak self] in self?.close() }
        flush()
    }

    /// True while a `closeAfterFlush` is still sending.
    public var isClosing: Bool { closeWhenFlushed && !isClosed }
    private var keepAlive: StreamConnection?
    private let flushDeadline = QueueTimer()

    /// Cancels both sources; the descriptor is closed once both cancel handlers ran.
    public func close() {
        dispatchPrecondition(condition: .onQueue(queue))
        guard !isClosed else { return }
        isClosed = true
        onRead = nil; onConnect = nil; onWriteProgress = nil
        flushDeadline.cancel()
        readinessCheck.cancel()
        defer { keepAlive = nil }
        guard let r = readSource, let w = writeSource else {
            socket.close()
            let cb = pendingOnClosed
            pendingOnClosed = nil
            cb?()
            return
        }
        if !connecting { /* read source was resumed in start or after connect */ } else { r.resume() }
        if readPaused { readPaused = false; r.resume() }  // a suspended source never runs its cancel handler
        if !writeResumed { w.resume(); writeResumed = true }
        r.cancel()
        w.cancel()
    }

    // MARK: source handlers

    private func resumeWrite() {
        guard !writeResumed, let w = writeSource else { return }
        writeResumed = true
        w.resume()
    }

    private func suspendWrite() {
        guard writeResumed, let w = writeSource else { return }
        writeResumed = false
        w.suspend()
    }

    private func writable() {
        dispatchPrecondition(condition: .onQueue(queue))
        guard !isClosed else { return }
        if connecting {
            connecting = false
            let err: Errno?
            do { err = try socket.pendingError() } catch { err = error.errno }
            readSource?.resume()
            if queuedBytes == 0 { suspendWrite() }
            let cb = onConnect
            cb?(err)
            if err != nil { return }
        }
        flush()
    }

    private func flush() {
        var moved = false
        defer { if moved, !isClosed { onWriteProgress?() } }
        while !isClosed && queuedBytes > 0 {
            do {
                switch try socket.send(outQueue, from: outOffset) {
                case .processed(let n):
                    outOffset += n
                    moved = moved || n > 0
                case .wouldBlock:
                    resumeWrite()
                    return
                }
            } catch {
                end(.failed(error))
                return
            }
        }
        if isClosed { return }
        suspendWrite()
        outQueue.removeAll(keepingCapacity: true)
        outOffset = 0
        if closeWhenFlushed { close() }
    }

    /// Stops reading until `resumeReading()`: input flow control. The peer's TCP window fills
    /// and its writes block, which is how a BGP speaker slows a peer down.
    public func pauseReading() {
        dispatchPrecondition(condition: .onQueue(queue))
        guard !readPaused, !isClosed, !connecting, let r = readSource else { return }
        readPaused = true
        r.suspend()
    }

    public func resumeReading() {
        dispatchPrecondition(condition: .onQueue(queue))
        guard readPaused, !isClosed, let r = readSource else { return }
        readPaused = false
        r.resume()
    }

    private func readable() {
        dispatchPrecondition(condition: .onQueue(queue))
        guard !isClosed, !readPaused else { return }
        // Drain until the socket would block (bounded, for fairness between connections): an
        // end of stream that arrived with the last bytes is seen now, not left to an event that
        // may never come.
        var buf: [UInt8] = []
        var ended: ConnectionEnd?
        do {
            reading: while buf.count < 256 << 10 {
                switch try socket.read(appendingTo: &buf) {
                case .wouldBlock: break reading
                case .processed(0): ended = .closedByPeer; break reading
                case .processed: continue
                }
            }
        } catch {
            ended = .failed(error)
        }
        if !buf.isEmpty { onRead?(buf) }
        if let ended, !isClosed { end(ended) }
    }

    private func end(_ why: ConnectionEnd) {
        let cb = onEnd
        close()
        onEnd = nil
        cb?(why)
    }
}

/// Closes the socket once both sources' cancel handlers ran (on the connection's queue).
private final class Closer: @unchecked Sendable {
    let socket: Socket
    var pending = 2
    var onClosed: (() -> Void)?
    init(socket: Socket) { self.socket = socket }
    func sourceCancelled() {
        pending -= 1
        guard pending == 0 else { return }
        socket.close()
        let cb = onClosed
        onClosed = nil
        cb?()
    }
}

/// A one-shot or repeating monotonic timer on a queue (`DispatchSourceTimer` over
/// `DispatchTime`, which is uptime-based). Always resumed while alive and cancelled on
/// `cancel()`, so it is never released suspended. Queue-confined.
public final class QueueTimer: @unchecked Sendable {
    private var source: DispatchSourceTimer?
    private var sourceQueue: DispatchQueue?
    private var handler: (@Sendable () -> Void)?
    private var armed = false
    /// When the armed timer is due, and when the dispatch source will fire (0: not scheduled).
    private var due: UInt64 = 0
    private var firesAt: UInt64 = 0
    private var leeway: DispatchTimeInterval = .milliseconds(50)

    public init() {}

    deinit { source?.cancel() }

    /// (Re)arms the timer to fire once after `milliseconds`, with `leeway` slack.
    ///
    /// The hold timer is re-armed on every message received. Re-scheduling a dispatch source
    /// wakes Dispatch's timer thread (an eventfd write), which cost more than decoding the
    /// UPDATE; so a later deadline is only recorded, and the source, when it fires early, is
    /// moved to it then (BIRD's timers work the same way). An earlier deadline moves it now.
    public func schedule(on queue: DispatchQueue, afterMilliseconds ms: Int64, leeway: DispatchTimeInterval = .milliseconds(50),
                         _ handler: @escaping @Sendable () -> Void) {
        if source == nil || sourceQueue !== queue {
            source?.cancel()
            let t = DispatchSource.makeTimerSource(queue: queue)
            t.setEventHandler { [weak self] in self?.fired() }
            t.schedule(deadline: .distantFuture, repeating: .never, leeway: leeway)
            t.resume()
            source = t
            sourceQueue = queue
            firesAt = 0
        }
        self.handler = handler
        self.leeway = leeway
        armed = true
        due = (DispatchTime.now() + .milliseconds(Int(max(0, ms)))).uptimeNanoseconds
        if firesAt == 0 || due < firesAt { arm(due) }
    }

    private func arm(_ at: UInt64) {
        firesAt = at
        source?.schedule(deadline: DispatchTime(uptimeNanoseconds: at), repeating: .never, leeway: leeway)
    }

    private func fired() {
        firesAt = 0
        guard armed else { return }
        if DispatchTime.now().uptimeNanoseconds < due {
            arm(due)  // re-armed later meanwhile
            return
        }
        armed = false
        handler?()
    }

    public func cancel() {
        // The source may still fire once; `fired` ignores it.
        armed = false
    }

    public var isArmed: Bool { armed }
}
