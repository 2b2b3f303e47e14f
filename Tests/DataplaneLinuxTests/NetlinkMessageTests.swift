import CNetlink
import Dataplane
@testable import DataplaneLinux
import Glibc
import NetCore
import Testing

/// Message building checked without a kernel: build the libnl request and read it back.
@Suite struct NetlinkMessageTests {
    struct LinkRequest { var name: String; var kind: String; var mtu: UInt32; var hasInfoData: Bool; var flags: UInt16; var type: Int32 }

    func readLinkRequest(_ link: OpaquePointer, flags: Int32) throws -> LinkRequest {
        var msg: OpaquePointer?
        let rc = rtnl_link_build_add_request(link, flags, &msg)
        #expect(rc == 0)
        guard let msg else { throw NetlinkError(code: rc, operation: "build") }
        defer { nlmsg_free(msg) }
        var name = [CChar](repeating: 0, count: 32), kind = [CChar](repeating: 0, count: 32)
        var mtu: UInt32 = 0, hasData: Int32 = 0, nlFlags: UInt16 = 0, type: Int32 = 0
        #expect(twill_nl_link_request_info(msg, &name, &kind, &mtu, &hasData, &nlFlags, &type) == 0)
        func text(_ c: [CChar]) -> String { String(decoding: c.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        return LinkRequest(name: text(name), kind: text(kind), mtu: mtu,
                           hasInfoData: hasData != 0, flags: nlFlags, type: type)
    }

    @Test func ipipDeviceRequest() throws {
        var links = LinkIndex()
        let link = try KernelWriter.buildLink(.ipip(IPIPDevice(name: "tunl0", mtu: 1480)), socket: nil, links: &links)
        defer { rtnl_link_put(link) }
        let r = try readLinkRequest(link, flags: NLM_F_CREATE | NLM_F_EXCL)
        #expect(r.type == Int32(RTM_NEWLINK))
        #expect(r.name == "tunl0")
        #expect(r.kind == "ipip")
        #expect(r.mtu == 1480)
        #expect(r.hasInfoData)
        #expect(Int32(r.flags) & NLM_F_CREATE != 0)
        #expect(Int32(r.flags) & NLM_F_EXCL != 0)
    }

    @Test func vxlanDeviceRequest() throws {
        var links = LinkIndex()
        links.set("eth0", 7)
        let dev = VXLANDevice(name: "vxlan.twill", vni: 4096, port: 4789, learning: false, localAddress: IPAddress("192.168.1.10")!,
                              parent: "eth0", mac: MACAddress("66:01:02:03:04:05")!, mtu: 1450)
        let link = try KernelWriter.buildLink(.vxlan(dev), socket: nil, links: &links)
        defer { rtnl_link_put(link) }
        let r = try readLinkRequest(link, flags: NLM_F_CREATE | NLM_F_EXCL)
        #expect(r.name == "vxlan.twill")
        #expect(r.kind == "vxlan")
        #expect(r.mtu == 1450)
        var msg: OpaquePointer?
        #expect(rtnl_link_build_add_request(link, NLM_F_CREATE, &msg) == 0)
        defer { nlmsg_free(msg) }
        var vni: UInt32 = 0, port: UInt16 = 0, learning: Int32 = 0, parent: UInt32 = 0
        #expect(twill_nl_vxlan_request_info(msg, &vni, &port, &learning, &parent) == 0)
        #expect(vni == 4096)
        #expect(port == 4789)
        #expect(learning == 0)
        #expect(parent == 7)
    }

    @Test func routeRequestRoundTripsThroughTheMonitorDecoder() throws {
        var links = LinkIndex()
        links.set("eth0", 3)
        let route = Route(destination: IPPrefix("10.244.2.0/26")!, nextHops: [
            NextHop(device: "eth0", gateway: IPAddress("192.168.1.11")!, onlink: true),
        ], protocolNumber: 247)
        let socket = try NetlinkSocket()
        let r = try KernelWriter.buildRoute(route, socket: socket, links: &links)
        defer { rtnl_route_put(r) }
        for (build, deleted) in [(rtnl_route_build_add_request, false), (rtnl_route_build_del_request, true)] {
            var msg: OpaquePointer?
            #expect(build(r, NLM_F_CREATE | NLM_F_REPLACE, &msg) == 0)
            guard let msg else { continue }
            defer { nlmsg_free(msg) }
            let key = RouteKey(destination: route.destination)
            #expect(RouteMonitor.decode(msg) == (deleted ? .routeDeleted(key, protocolNumber: 247) : .routeAdded(key, protocolNumber: 247)))
        }
        // And the libnl object reads back as the same Route.
        #expect(KernelReader.route(from: r, links: links) == route)
    }

    @Test func ecmpAndBlackholeRoutesReadBackUnchanged() throws {
        var links = LinkIndex()
        links.set("eth0", 3); links.set("vxlan.twill", 9)
        let socket = try NetlinkSocket()
        let ecmp = Route(destination: IPPrefix("10.244.4.0/26")!, nextHops: [
            NextHop(device: "eth0", gateway: IPAddress("192.168.1.11")!, onlink: true),
            NextHop(device: "vxlan.twill", gateway: IPAddress("10.244.3.0")!, onlink: true),
        ], protocolNumber: 247)
        let hole = Route(destination: IPPrefix("fd00:244:1::/122")!, type: .blackhole, protocolNumber: 247)
        let ecmp6 = Route(destination: IPPrefix("fd00:244:4::/122")!, nextHops: [
            NextHop(device: "eth0", gateway: IPAddress("fd00:1::11")!, onlink: true),
            NextHop(device: "eth0", gateway: IPAddress("fd00:1::12")!, onlink: true),
        ], protocolNumber: 247)
        for route in [ecmp, hole, ecmp6] {
            let r = try KernelWriter.buildRoute(route, socket: socket, links: &links)
            defer { rtnl_route_put(r) }
            #expect(KernelReader.route(from: r, links: links) == route)
        }
    }

    @Test func netlinkErrorsUseLibnlCodesAndText() {
        let e = NetlinkError(code: -NLE_EXIST, operation: "add route 10.0.0.0/24")
        #expect(e.code == NLE_EXIST)
        #expect(e.description == "add route 10.0.0.0/24: Object exists (NLE 6)")
    }
}
