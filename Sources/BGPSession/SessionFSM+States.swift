/// The per-state transition functions (RFC 4271 §8.2.2). Each switches on the event; the
/// table in docs/bgp-fsm.md lists every row.
extension SessionFSM {
    mutating func idle(_ event: Event, _ now: Instant, _ out: inout [Action]) {
        switch event {
        case .manualStart, .automaticStart:
            consecutiveFailuresResetIfManual(event)
            start(passive: false, now, &out)
        case .manualStartPassive, .automaticStartPassive:
            consecutiveFailuresResetIfManual(event)
            start(passive: true, now, &out)
        case .idleHoldTimerExpires:
            if isAdministrativelyUp { start(passive: passiveRun, now, &out) }
        case .manualStop:
            // Cancels a pending automatic restart.
            isAdministrativelyUp = false
            consecutiveFailures = 0
            stopTimer(.idleHold, &out)
        case .tcpConnectionConfirmed:
            // While waiting out the backoff we still accept the peer's connection: the backoff
            // limits our own connects. Administratively down: refuse it.
            if isAdministrativelyUp && !isSecondary {
                stopTimer(.idleHold, &out)
                connectionUp(.inbound, now, &out)
                // With DelayOpen the connection waits for the DelayOpenTimer in Active.
                if state == .idle { setState(.active, &out) }
            } else {
                out.append(.closeConnection)
            }
        case .tcpConnectionAcked:
            out.append(.closeConnection)  // a connect we no longer want
        default:
            break  // RFC 4271: other events leave Idle unchanged
        }
    }

    mutating func connect(_ event: Event, _ now: Instant, _ out: inout [Action]) {
        switch event {
        case .connectRetryTimerExpires:
            // The connect hangs: abort it and try again.
            closeTransport(&out)
            startTimer(.connectRetry, config.connectRetryTime, now, &out)
            beginConnect(&out)
        case .tcpConnectionFails:
            if deadline(of: .delayOpen) != nil {
                stopTimer(.delayOpen, &out)
                closeTransport(&out)
                startTimer(.connectRetry, config.connectRetryTime, now, &out)
                setState(.active, &out)
            } else {
                // Our connect failed (refused, unreachable): retried after the base idle hold
                // time, not the doubling backoff, which damps sessions that flap (RFC 4271
                // §8.1.1) — a peer that is not listening yet (a mesh starting at once) would
                // otherwise wait 1 + 2 + 4 s for nothing.
                goIdle(now, &out, reason: .connectionFailed, countsAsFailure: false)
            }
        default:
            beforeOpenCommon(event, now, &out)
        }
    }

    mutating func active(_ event: Event, _ now: Instant, _ out: inout [Action]) {
        switch event {
        case .connectRetryTimerExpires:
            startTimer(.connectRetry, config.connectRetryTime, now, &out)
            beginConnect(&out)
            setState(.connect, &out)
        case .tcpConnectionFails:
            goIdle(now, &out, reason: .connectionFailed)
        default:
            beforeOpenCommon(event, now, &out)
        }
    }

    mutating func openSent(_ event: Event, _ now: Instant, _ out: inout [Action]) {
        switch event {
        case .tcpConnectionFails:
            if isSecondary {
                goIdle(now, &out, reason: .connectionFailed)
            } else {
                // RFC 4271: back to Active, wait for the peer or ConnectRetry — sooner when it
                // was our connection the peer closed without a word (`retryAfterCloseBeforeOpen`).
                let ours = connectionDirection == .outbound
                closeTransport(&out)
                stopTimer(.hold, &out)
                if !config.passive {
                    var wait = config.connectRetryTime
                    if ours {
                        closedBeforeOpen += 1
                        wait = retryAfterCloseBeforeOpen()
                    }
                    startTimer(.connectRetry, wait, now, &out)
                }
                setState(.active, &out)
            }
        case .openReceived(let open):
            receiveOpen(open, sendOurOpen: false, now, &out)
        default:
            afterOpenCommon(event, now, &out)
        }
    }

    mutating func openConfirm(_ event: Event, _ now: Instant, _ out: inout [Action]) {
        switch event {
        case .keepaliveReceived:
            restartHoldTimer(now, &out)
            enterEstablished(now, &out)
        default:
            afterOpenCommon(event, now, &out)
        }
    }

    mutating func established(_ event: Event, _ now: Instant, _ out: inout [Action]) {
        switch event {
        case .openReceived, .openMessageError:
            // RFC 4271 §8.2.2 Established: events 19-22 are FSM errors (an OPEN on a live session).
            fsmError(event, now, &out)
        case .keepaliveReceived:
            restartHoldTimer(now, &out)
        case .sendProgress:
            lastSendProgress = now
        case .sendHoldTimerExpires:
            // Lazy timer: progress only records the time; re-arm for the rest if there was some.
            if let limit = sendHoldLimit {
                let since = now.duration(since: lastSendProgress ?? establishedAt ?? now)
                if since < limit {
                    startTimer(.sendHold, limit - since, now, &out)
                } else {
                    goIdle(now, &out, send: .sendHoldTimerExpired, reason: .sendHoldTimerExpired)
                }
            }
        case .updateReceived(let update):
            restartHoldTimer(now, &out)
            if let family = update.endOfRIB {
                // An EoR for a family that was not negotiated is ignored (RFC 4760 §7).
                if endOfRIB[family] != nil {
                    endOfRIB[family]?.received = true
                    out.append(.endOfRIBReceived(family))
                }
            } else {
                out.append(.deliverUpdate)
            }
        case .updateMessageError(let n), .routeRefreshMessageError(let n):
            goIdle(now, &out, send: n, reason: .notificationSent(n))
        case .routeRefreshReceived(let rr):
            // Ignored unless we advertised the capability and the family was negotiated
            // (RFC 2918 §4); unknown subtypes are ignored (RFC 7313 §5).
            if let s = negotiated, s.routeRefresh || s.enhancedRouteRefresh, s.families.contains(rr.family),
               rr.subtype <= RouteRefreshMessage.end,
               rr.subtype == RouteRefreshMessage.request || s.enhancedRouteRefresh {
                out.append(.routeRefreshRequested(rr))
            }
        case .requestRouteRefresh(let family):
            if let s = negotiated, s.routeRefresh || s.enhancedRouteRefresh, s.families.contains(family) {
                out.append(.sendRouteRefresh(RouteRefreshMessage(family: family)))
            }
        case .initialAdvertisementDone(let family):
            if let status = endOfRIB[family], !status.sent, shouldSendEndOfRIB {
                endOfRIB[family]?.sent = true
                out.append(.sendEndOfRIB(family))
            }
        default:
            afterOpenCommon(event, now, &out)
        }
    }

    /// Rows shared by Connect and Active (no OPEN sent yet, so never a NOTIFICATION for an
    /// unexpected event).
    private mutating func beforeOpenCommon(_ event: Event, _ now: Instant, _ out: inout [Action]) {
        switch event {
        case .manualStart, .automaticStart, .manualStartPassive, .automaticStartPassive,
             .requestRouteRefresh, .initialAdvertisementDone, .sendProgress:
            break
        case .manualStop(let subcode, let message):
            manualStop(subcode: subcode, message: message, now, &out)
        case .automaticStop(let n):
            goIdle(now, &out, reason: .automaticStop(n))
        case .delayOpenTimerExpires:
            sendOpen(now, &out)
        case .tcpConnectionAcked:
            connectionUp(.outbound, now, &out)
        case .tcpConnectionConfirmed:
            connectionUp(.inbound, now, &out)
        case .openReceived(let open) where deadline(of: .delayOpen) != nil:
            receiveOpen(open, sendOurOpen: true, now, &out)
        case .headerError(let n), .openMessageError(let n):
            goIdle(now, &out, send: n, reason: .notificationSent(n))
        case .notificationReceived(let n):
            goIdle(now, &out, reason: .notificationReceived(n), countsAsFailure: !n.isVersionError)
        default:
            fsmError(event, now, &out)
        }
    }

    /// Rows shared by OpenSent, OpenConfirm and Established; anything else is an FSM error
    /// (5/1, 5/2, 5/3).
    private mutating func afterOpenCommon(_ event: Event, _ now: Instant, _ out: inout [Action]) {
        switch event {
        case .manualStart, .automaticStart, .manualStartPassive, .automaticStartPassive,
             .requestRouteRefresh, .initialAdvertisementDone, .sendProgress:
            break
        case .tcpConnectionAcked, .tcpConnectionConfirmed:
            break  // a second connection: the shell runs it in its own instance (§6.8)
        case .manualStop(let subcode, let message):
            manualStop(subcode: subcode, message: message, now, &out)
        case .automaticStop(let cease):
            let n = hardResetIfNeeded(cease)
            goIdle(now, &out, send: n, reason: .automaticStop(n))
        case .holdTimerExpires:
            goIdle(now, &out, send: .holdTimerExpired, reason: .holdTimerExpired)
        case .keepaliveTimerExpires:
            sendKeepaliveAndRearm(now, &out)  // armed only from OpenConfirm on
        case .tcpConnectionFails:
            goIdle(now, &out, reason: .connectionFailed)  // OpenSent handles it itself
        case .headerError(let n), .openMessageError(let n):
            goIdle(now, &out, send: n, reason: .notificationSent(n))
        case .openCollisionDump:
            collisionDump(now, &out)
        case .notificationReceived(let n):
            goIdle(now, &out, reason: .notificationReceived(n), countsAsFailure: !n.isVersionError)
        default:
            fsmError(event, now, &out)
        }
    }

    // MARK: - Helpers used only by the state functions

    private var shouldSendEndOfRIB: Bool {
        switch config.endOfRIB {
        case .always: true
        case .gracefulRestartOnly: negotiated?.gracefulRestart != nil
        case .never: false
        }
    }

    private mutating func consecutiveFailuresResetIfManual(_ event: Event) {
        if event == .manualStart || event == .manualStartPassive { consecutiveFailures = 0; closedBeforeOpen = 0 }
    }

    private mutating func enterEstablished(_ now: Instant, _ out: inout [Action]) {
        establishedAt = now
        lastSendProgress = now
        guard let s = negotiated else { return }
        endOfRIB = Dictionary(uniqueKeysWithValues: s.families.map { ($0, EndOfRIBStatus()) })
        if let limit = sendHoldLimit { startTimer(.sendHold, limit, now, &out) }
        setState(.established, &out)
        out.append(.sessionEstablished(s))
    }

    /// RFC 9687 SendHoldTime: max(configured, 2 × hold); none when the hold time is 0.
    private var sendHoldLimit: Duration? {
        guard let floor = config.sendHoldTime, let s = negotiated, s.holdTime > 0 else { return nil }
        return max(floor, .seconds(2 * Int64(s.holdTime)))
    }
}
