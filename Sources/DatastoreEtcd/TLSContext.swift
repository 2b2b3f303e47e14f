import COpenSSL
import Datastore
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// OpenSSL client settings for etcd (`etcds://`, `ca`, `cert`, `key`): the server is verified
/// against `caFile` (or the system's CAs) and its name or IP; the client certificate is offered
/// when given. One context per client, shared by its connections (SSL_CTX is thread-safe once set up).
final class TLSContext: @unchecked Sendable {
    let ctx: OpaquePointer

    init(caFile: String?, certFile: String?, keyFile: String?) throws(DatastoreError) {
        Self.ignoreSIGPIPE()
        guard let c = SSL_CTX_new(TLS_client_method()) else { throw .unavailable("TLS: \(Self.lastError())") }
        ctx = c
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
        if let caFile {
            guard SSL_CTX_load_verify_locations(ctx, caFile, nil) == 1 else {
                throw .invalidURL("ca \(caFile): cannot load: \(Self.lastError())")
            }
        } else {
            SSL_CTX_set_default_verify_paths(ctx)
        }
        if let certFile, let keyFile {
            guard SSL_CTX_use_certificate_chain_file(ctx, certFile) == 1 else {
                throw .invalidURL("cert \(certFile): cannot load: \(Self.lastError())")
            }
            guard SSL_CTX_use_PrivateKey_file(ctx, keyFile, SSL_FILETYPE_PEM) == 1 else {
                throw .invalidURL("key \(keyFile): cannot load: \(Self.lastError())")
            }
            guard SSL_CTX_check_private_key(ctx) == 1 else {
                throw .invalidURL("key \(keyFile) does not match cert \(certFile): \(Self.lastError())")
            }
        }
    }

    deinit { SSL_CTX_free(ctx) }

    /// OpenSSL writes to the socket with write(2), which raises SIGPIPE when etcd has closed the
    /// connection (plain connections use MSG_NOSIGNAL instead). SIGPIPE is set to ignored unless
    /// the program installed a handler of its own; the write then fails with EPIPE.
    private static func ignoreSIGPIPE() {
        var old = sigaction()
        guard sigaction(SIGPIPE, nil, &old) == 0, old.__sigaction_handler.sa_handler == nil else { return }
        signal(SIGPIPE, SIG_IGN)
    }

    /// The oldest queued OpenSSL error, as text (and clears the queue).
    static func lastError() -> String {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return "unknown error" }
        var buf = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buf, buf.count)
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A TLS session over the connected socket `fd`, handshaken and verified for `host`.
    func session(fd: Int32, host: String, endpoint: String) throws(HTTPFailure) -> OpaquePointer {
        guard let ssl = SSL_new(ctx) else { throw HTTPFailure(reason: "\(endpoint): TLS: \(Self.lastError())", sent: false) }
        SSL_set_fd(ssl, fd)
        var addr = in6_addr()
        let isIP = inet_pton(AF_INET, host, &addr) == 1 || inet_pton(AF_INET6, host, &addr) == 1
        if isIP {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
        } else {
            _ = twill_ssl_set_sni(ssl, host)
            SSL_set1_host(ssl, host)
        }
        guard SSL_connect(ssl) == 1 else {
            let verify = SSL_get_verify_result(ssl)
            var why = Self.lastError()
            if verify != X509_V_OK { why += " (" + String(cString: X509_verify_cert_error_string(verify)) + ")" }
            SSL_free(ssl)
            throw HTTPFailure(reason: "\(endpoint): TLS handshake failed: \(why)", sent: false)
        }
        return ssl
    }
}
