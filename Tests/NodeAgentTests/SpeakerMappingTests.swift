import BGPSpeaker
import Calc
import NetCore
import Testing
@testable import NodeAgent

@Suite struct SpeakerMappingTests {
    @Test func calicoPeerBecomesSpeakerPeer() {
        var p = Peer(name: "Mesh_10_0_0_2", type: .mesh, address: IPAddress("10.0.0.2")!, remoteAS: ASNumber(64512),
                     localAS: ASNumber(64512))
        p.passive = true
        p.port = 1179
        p.keepaliveTime = CalicoDuration(seconds: 20)
        let c = SpeakerMapping.peerConfig(p)
        #expect(c.name == "Mesh_10_0_0_2" && c.address == IPAddress("10.0.0.2")! && c.port == 1179)
        #expect(c.passive && c.asNumber == ASNumber(64512) && c.peerType == "node-to-node mesh")
        #expect(c.keepaliveTime == CalicoDuration(seconds: 20) && c.addressFamilies == [.ipv4])
        #expect(c.password == nil)
    }

    @Test func passwordsResolveFromTheSecretMap() {
        var p = Peer(name: "Global_10_0_0_9", type: .global, address: IPAddress("10.0.0.9")!, remoteAS: ASNumber(65001),
                     localAS: ASNumber(64512))
        p.password = PasswordRef(secretName: "bgp", key: "pw")
        #expect(SpeakerMapping.peerConfig(p, passwords: [PasswordRef(secretName: "bgp", key: "pw"): "s3"]).password == "s3")
    }
}
