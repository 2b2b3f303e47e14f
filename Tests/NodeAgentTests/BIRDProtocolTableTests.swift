import Calc
import Foundation
import NetCore
@testable import NodeAgent
import Testing

/// `birdc show protocols` parsing, on output captured from BIRD 2.0.12 (Debian 12).
@Suite struct BIRDProtocolTableTests {
    /// Captured with `birdc -s … show protocols` from a BIRD 2.0.12 whose peers were not reachable.
    static let captured = """
        BIRD 2.0.12 ready.
        Name       Proto      Table      State  Since         Info
        device1    Device     ---        up     12:50:08.275  
        kernel4    Kernel     master4    up     12:50:08.275  
        Mesh_10_9_0_2 BGP        ---        start  12:50:08.275  Active        
        Global_10_9_0_9_port_1790 BGP        ---        start  12:50:08.275  Active        
        Node_fd00__2 BGP        ---        start  12:50:08.275  Idle          
        ext_peer   BGP        ---        start  12:50:08.275  Passive       
        Node_10_9_0_7 BGP        ---        down   12:50:08.275  

        """

    @Test func capturedBirdcOutput() throws {
        let peers = try BIRDProtocolTable.parse(Self.captured)
        #expect(peers.map(\.name) == ["Mesh_10_9_0_2", "Global_10_9_0_9_port_1790", "Node_fd00__2", "ext_peer", "Node_10_9_0_7"])
        #expect(peers.map(\.state) == ["start", "start", "start", "start", "down"])
        #expect(peers.map(\.info) == ["Active", "Active", "Idle", "Passive", ""])
        #expect(peers.allSatisfy { $0.since == "12:50:08.275" })
        #expect(peers.map(\.peerType) == [.mesh, .global, .nodeSpecific, nil, .nodeSpecific])
        #expect(peers[0].peerAddress == IPAddress("10.9.0.2"))
        #expect(peers[1].peerAddress == IPAddress("10.9.0.9") && peers[1].peerPort == 1790)
        #expect(peers[2].peerAddress == IPAddress("fd00::2") && peers[2].peerPort == nil)
        #expect(peers[3].peerAddress == nil)
        #expect(!peers.contains { $0.isEstablished })
    }

    /// Established and failed sessions: BIRD prints the BGP state padded to 14 columns, then
    /// the last error (`bgp_get_status`).
    @Test func establishedAndErrorDetail() throws {
        let out = """
            BIRD 2.0.12 ready.
            Name       Proto      Table      State  Since         Info
            Mesh_10_0_0_2 BGP        ---        up     13:01:02.003  Established   
            Node_10_0_0_3 BGP        ---        start  13:01:00.000  Active        Socket: Connection refused
            Global_10_0_0_4 BGP      ---        start  13:00:59.000  Connect       Error: Hold timer expired
            """
        let peers = try BIRDProtocolTable.parse(out)
        #expect(peers.count == 3)
        #expect(peers[0].isEstablished && peers[0].state == "up" && peers[0].detail.isEmpty)
        #expect(peers[1].info == "Active" && peers[1].detail == "Socket: Connection refused")
        #expect(peers[1].infoColumn == "Active Socket: Connection refused")
        #expect(peers[2].info == "Connect" && peers[2].detail == "Error: Hold timer expired")
    }

    /// The raw control-socket form calicoctl reads (reply codes), and an `iso long` Since.
    @Test func controlSocketFramingAndLongTime() throws {
        let out = """
            0001 BIRD 2.0.12 ready.
            2002-Name       Proto      Table      State  Since         Info
            1002-device1    Device     ---        up     2026-11-24 09:00:00
             Mesh_172_17_8_102 BGP      ---        up     2026-11-24 09:00:03  Established
            0000 
            """
        let peers = try BIRDProtocolTable.parse(out)
        #expect(peers.count == 1)
        #expect(peers[0].name == "Mesh_172_17_8_102")
        #expect(peers[0].since == "2026-11-24 09:00:03")
        #expect(peers[0].info == "Established")
        #expect(peers[0].peerAddress == IPAddress("172.17.8.102"))
    }

    @Test func noBGPProtocolsIsAnEmptyList() throws {
        let out = "BIRD 2.0.12 ready.\nName       Proto      Table      State  Since         Info\ndevice1    Device     ---        up     12:50:08.275  \n"
        #expect(try BIRDProtocolTable.parse(out).isEmpty)
    }

    @Test func errorsAreNotTables() {
        #expect(throws: BIRDProtocolTableError.self) {
            try BIRDProtocolTable.parse("Unable to connect to server control socket (/run/bird.ctl): No such file or directory\n")
        }
        #expect(throws: BIRDProtocolTableError.unexpectedHeadings("Name Proto Table State")) {
            try BIRDProtocolTable.parse("BIRD 2.0.12 ready.\nName Proto Table State\nx BGP --- up\n")
        }
        #expect(throws: BIRDProtocolTableError.self) {
            try BIRDProtocolTable.parse("0001 BIRD 2.0.12 ready.\n9001 syntax error, unexpected CF_SYM_UNDEFINED\n")
        }
    }

    @Test func peerNamesDecodeAsCalicoctlDoes() {
        #expect(BIRDPeerStatus.decodeName("Mesh_fd80_24e2_f998_72d7__2").1 == IPAddress("fd80:24e2:f998:72d7::2"))
        #expect(BIRDPeerStatus.decodeName("Node_fd00__2_port_1790").2 == 1790)
        #expect(BIRDPeerStatus.decodeName("Global_10_0_0_1").0 == .global)
        #expect(BIRDPeerStatus.decodeName("Mesh_not_an_ip").1 == nil)
        #expect(BIRDPeerStatus.decodeName("kernel4").0 == nil)
    }
}

@Suite struct BIRDSupervisorUnitTests {
    @Test func backoffDoublesUpToTheCapAndResetsAfterAStableRun() {
        var b = BIRDRestartBackoff(initial: 1, maximum: 30, stableAfter: 60)
        let quick = (0..<7).map { _ in b.delay(afterRunningFor: 0.5) }
        #expect(quick == [1, 2, 4, 8, 16, 30, 30])
        #expect(b.delay(afterRunningFor: 120) == 1)
        #expect(b.delay(afterRunningFor: 1) == 2)
    }

    @Test func birdLogLinesKeepTheirLevel() {
        #expect(BIRDSupervisor.level(of: "2026-11-25 12:50:08.275 <INFO> Started") == .info)
        #expect(BIRDSupervisor.level(of: "2026-11-25 12:50:08.275 <ERR> Mesh_10_0_0_2: Socket error") == .error)
        #expect(BIRDSupervisor.level(of: "2026-11-25 12:50:08.275 <WARN> Kernel dropped some netlink messages") == .warning)
        #expect(BIRDSupervisor.level(of: "2026-11-25 12:50:08.275 <TRACE> Mesh_10_0_0_2: State changed to up") == .debug)
        #expect(BIRDSupervisor.level(of: "bird: /etc/bird.conf:3:29 Invalid port number") == .notice)
    }

    /// A BIRD outliving the agent must not hold the agent's descriptors (sockets, pipes).
    @Test func childrenInheritNoDescriptorsButStdio() throws {
        let leaked = open("/dev/null", O_RDONLY)  // no O_CLOEXEC
        #expect(leaked > 2)
        defer { close(leaked) }
        #expect(BIRDSubprocess.addCloseFrom != nil, "glibc without posix_spawn_file_actions_addclosefrom_np")
        let out = try BIRDSubprocess.run(["sh", "-c", "ls /proc/$$/fd"], timeout: 10)
        let fds = out.stdout.split(separator: "\n").compactMap { Int32($0) }
        #expect(out.status == 0 && fds.contains(1))
        #expect(!fds.contains(leaked), "fd \(leaked) leaked into the child: \(fds)")
    }

    @Test func exitCodesFromWaitStatus() {
        #expect(BIRDSubprocess.exitCode(1 << 8) == 1)
        #expect(BIRDSubprocess.exitCode(9) == 137)
        #expect(BIRDSubprocess.describe(137) == "killed by signal 9")
    }
}
