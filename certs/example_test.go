package certs_test

import (
	"crypto/tls"
	"fmt"
	"log"
	"net/http"

	"musicdb/certs"
)

func ExampleClientPair() {
	p := certs.ClientPair(certs.DefaultDir, "alice")
	fmt.Println(p.Cert)
	fmt.Println(p.Key)
	// Output:
	// var/certs/alice.crt
	// var/certs/alice.key
}

func ExampleServerConfig() {
	dir := certs.DefaultDir
	cfg, err := certs.ServerConfig(certs.CAPair(dir).Cert, certs.ServerPair(dir).Cert, certs.ServerPair(dir).Key)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{
		Addr:      "localhost:8443",
		TLSConfig: cfg,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			client := r.TLS.PeerCertificates[0]
			fmt.Fprintf(w, "hello %s, thumbprint %s\n", client.Subject.CommonName, certs.Thumbprint(client))
		}),
	}
	http1 := false // as with the server's -http1 flag
	if http1 {
		// Each handshake copies cfg, so HTTP/2 goes from cfg itself as well
		// as from the server.
		cfg.NextProtos = []string{"http/1.1"}
		srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	}
	// The certificate comes from cfg, hence no file names here.
	log.Fatal(srv.ListenAndServeTLS("", ""))
}

func ExampleClientConfig() {
	dir := certs.DefaultDir
	p := certs.ClientPair(dir, certs.DevClient)
	cfg, err := certs.ClientConfig(certs.CAPair(dir).Cert, p.Cert, p.Key)
	if err != nil {
		log.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}}
	resp, err := client.Get("https://localhost:8443/healthz")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status)
}
