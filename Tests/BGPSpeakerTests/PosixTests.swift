import NetCore
import Posix
import SystemPackage
import Testing
import TestSupport

@Suite struct PosixTests {
    @Test func socketOptionsAndAddresses() throws {
        for family in [IPFamily.v4, .v6] {
            let s = try Socket.tcp(family)
            defer { s.close() }
            try s.setReuseAddress()
            if family == .v6 { try s.setV6Only(false) }
            try s.setNoDelay()
            try s.setTTL(255)
            try s.setMinimumTTL(254)
            let any: IPAddress = family == .v4 ? .v4(.any) : .v6(.any)
            try s.bind(to: SocketAddress(any, port: 0))
            try s.listen()
            let local = try s.localAddress()
            #expect(local.ip == any && local.port != 0)
            if Privileged.isRoot {
                // One key per peer; a v4 peer on a v6 (dual-stack) socket is keyed as ::ffff:a.b.c.d.
                try s.setMD5Key(peer: IPAddress("192.0.2.1")!, key: "k")
                try s.setMD5Key(peer: IPAddress("192.0.2.1")!, key: nil)
            }
        }
    }

    @Test func connectAcceptReadWrite() throws {
        let l = try Socket.tcp(.v4)
        defer { l.close() }
        try l.bind(to: SocketAddress(.v4(IPv4Address(127, 0, 0, 1)), port: 0))
        try l.listen()
        #expect(try { if case .wouldBlock = try l.accept() { return true }; return false }())
        let c = try Socket.tcp(.v4)
        defer { c.close() }
        _ = try c.connect(to: try l.localAddress())
        var accepted: AcceptedConnection?
        _ = try eventually(timeout: 5) {
            if case .processed(let a) = try l.accept() { accepted = a }
            return accepted != nil
        }
        let a = try #require(accepted)
        defer { a.socket.close() }
        let clientAddress = try c.localAddress()
        #expect(a.remote?.ip == IPAddress("127.0.0.1") && a.remote == clientAddress)
        #expect(try c.pendingError() == nil)
        _ = try c.send([1, 2, 3])
        var got: [UInt8] = []
        _ = try eventually(timeout: 5) {
            _ = try a.socket.read(appendingTo: &got)
            return got.count >= 3
        }
        #expect(got == [1, 2, 3])
        c.shutdownWrite()
        #expect(try eventually(timeout: 5) {
            if case .processed(0) = try a.socket.read(appendingTo: &got) { return true }
            return false
        })
    }

    @Test func connectRefusedIsReportedThroughSOError() throws {
        // Find a closed port: bind, read the port, close.
        let probe = try Socket.tcp(.v4)
        try probe.bind(to: SocketAddress(.v4(IPv4Address(127, 0, 0, 1)), port: 0))
        let port = try probe.localAddress().port
        probe.close()
        let c = try Socket.tcp(.v4)
        defer { c.close() }
        do {
            if try c.connect(to: SocketAddress(.v4(IPv4Address(127, 0, 0, 1)), port: port)) == .inProgress {
                var err: Errno?
                _ = try eventually(timeout: 5) { err = try c.pendingError(); return err != nil }
                #expect(err == .connectionRefused)
            }
        } catch let e as SyscallError {
            #expect(e.errno == .connectionRefused)
        }
    }
}
