// BGPSession: the pure BGP session layer of Twill.
//
// What lives here: the RFC 4271 §8 finite state machine (`SessionFSM`), OPEN checking and
// capability negotiation (`OpenNegotiation` → `NegotiatedSession`), connection collision
// resolution (`CollisionResolver`), idle hold backoff, End-of-RIB bookkeeping and the
// reconfigure-in-place-or-reset decision. No I/O, no clock, no Foundation/Dispatch/Glibc: the
// BGPSpeaker shell performs the `Action`s and feeds back `Event`s with its monotonic `Instant`.
// The message types here are the FSM's own; the shell maps them to and from BGPWire.
//
// RFCs implemented (session layer):
//   RFC 4271  BGP-4: FSM (§8), OPEN checks (§6.2), hold/keepalive (§4.2, §4.4, §10), collisions (§6.8)
//   RFC 4486  Cease subcodes          RFC 9003  Shutdown communication (Cease 6/2, 6/4 data)
//   RFC 4724  Graceful restart (helper decisions) and End-of-RIB   RFC 8538  GR N bit, Hard Reset
//   RFC 4760  Multiprotocol families (no MP capability = IPv4 unicast)
//   RFC 5492  Capabilities (2/7 when no family is common)    RFC 6286  BGP Identifier rules
//   RFC 6608  FSM error subcodes      RFC 6793  4-octet AS, AS_TRANS consistency
//   RFC 2918 / RFC 7313  Route refresh / enhanced route refresh (negotiation and message flow)
//   RFC 7911  ADD-PATH per-family negotiation                RFC 8654  Extended messages (negotiation)
//   RFC 8950  Extended next hop (negotiation)
//   RFC 9687  Send hold timer (Established)
// Not here: BFD (RFC 9384 subcode is defined), LLGR, BGP roles (RFC 9234).
//
// Design notes, the transition table and how the shell drives two instances per peer:
// docs/bgp-fsm.md.
