package gateway_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/gwtest"
)

// selfSigned writes a certificate for 127.0.0.1 and returns its files and
// a pool trusting it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "wsgate test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	kb, _ := x509.MarshalECPrivateKey(key)
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile, pool
}

// TestTLS serves the control plane and wss:// clients over TLS (the
// WebSocket engine's non-epoll path for *tls.Conn).
func TestTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	cfg := config.Default()
	cfg.TLS = config.TLS{CertFile: certFile, KeyFile: keyFile}
	gw := gwtest.Start(t, cfg)
	if gw.URL[:8] != "https://" {
		t.Fatalf("base URL %q", gw.URL)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	c := apigatewayv2.NewFromConfig(gwtest.AWSConfig(), func(o *apigatewayv2.Options) {
		o.BaseEndpoint = aws.String(gw.URL)
		o.HTTPClient = &http.Client{Transport: tr}
	})
	x, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	api, err := c.CreateApi(x, &apigatewayv2.CreateApiInput{Name: aws.String("tls"), ProtocolType: types.ProtocolTypeWebsocket, RouteSelectionExpression: aws.String("$request.body.action")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(api.ApiEndpoint); got != "wss://"+gw.Host()+"/"+*api.ApiId {
		t.Errorf("apiEndpoint %q", got)
	}
	in, err := c.CreateIntegration(x, &apigatewayv2.CreateIntegrationInput{ApiId: api.ApiId, IntegrationType: types.IntegrationTypeMock,
		RequestTemplates: map[string]string{"$default": `{"statusCode": 200, "m": $input.json('$')}`}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateIntegrationResponse(x, &apigatewayv2.CreateIntegrationResponseInput{ApiId: api.ApiId, IntegrationId: in.IntegrationId,
		IntegrationResponseKey: aws.String("$default"), ResponseTemplates: map[string]string{"$default": `tls:$input.path('$.m.x')`}}); err != nil {
		t.Fatal(err)
	}
	r, err := c.CreateRoute(x, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String("$default"), Target: aws.String("integrations/" + *in.IntegrationId), RouteResponseSelectionExpression: aws.String("$default")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateRouteResponse(x, &apigatewayv2.CreateRouteResponseInput{ApiId: api.ApiId, RouteId: r.RouteId, RouteResponseKey: aws.String("$default")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateStage(x, &apigatewayv2.CreateStageInput{ApiId: api.ApiId, StageName: aws.String("prod"), AutoDeploy: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	d := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: pool}}
	deadline := time.Now().Add(10 * time.Second)
	var ws *websocket.Conn
	for {
		ws, _, err = d.Dial("wss://"+gw.Host()+"/"+*api.ApiId+"/prod", nil)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	defer ws.Close()
	for i := range 3 {
		_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"x":`+string(rune('0'+i))+`}`))
		_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, b, err := ws.ReadMessage()
		if err != nil || string(b) != "tls:"+string(rune('0'+i)) {
			t.Fatalf("over TLS: %q %v", b, err)
		}
	}
}
