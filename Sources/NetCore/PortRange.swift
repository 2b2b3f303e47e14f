/// A port or port range as Calico writes it in rules: `80`, `8000:8080`, or a named port.
public enum Port: Hashable, Sendable, CustomStringConvertible {
    case number(UInt16)
    case range(UInt16, UInt16)
    case named(String)

    public init?(_ text: String) {
        if text.isEmpty { return nil }
        if text.first!.isNumber {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            func n(_ s: Substring) -> UInt16? {
                guard !s.isEmpty, s.allSatisfy({ $0.isASCII && $0.isNumber }), let v = UInt16(s) else { return nil }
                return v
            }
            switch parts.count {
            case 1: guard let v = n(parts[0]) else { return nil }; self = .number(v)
            case 2:
                guard let a = n(parts[0]), let b = n(parts[1]), a <= b else { return nil }
                self = .range(a, b)
            default: return nil
            }
        } else {
            guard text.count <= 63, text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") })
            else { return nil }
            self = .named(text)
        }
    }

    public var description: String {
        switch self {
        case .number(let p): "\(p)"
        case .range(let a, let b): "\(a):\(b)"
        case .named(let n): n
        }
    }
}
