// Command control-plane is the test tier's real Kubernetes control plane: one binary that runs
// kube-apiserver, kube-controller-manager or kube-scheduler from Kubernetes' own Go modules, plus the
// kubelet's exec endpoint for the node agent. It is test infrastructure; the product never uses it.
//
//	control-plane kube-apiserver|kube-controller-manager|kube-scheduler [flags]
//	control-plane exec-server --listen 127.0.0.1:0 --answer-url http://127.0.0.1:PORT/exec
//
// The exec server speaks every streaming protocol the API server uses toward kubelets (the kubelet's
// own ServeExec) and asks the TypeScript node agent for each command's answer over loopback, so the
// data-plane behaviour is written once, in the simulator's model.
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
	remotecommandconsts "k8s.io/apimachinery/pkg/util/remotecommand"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/component-base/cli"
	streaming "k8s.io/kubelet/pkg/cri/streaming/remotecommand"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: control-plane kube-apiserver|kube-controller-manager|kube-scheduler|exec-server [flags]")
		os.Exit(2)
	}
	component, args := os.Args[1], os.Args[2:]
	os.Args = append([]string{component}, args...)
	switch component {
	case "kube-apiserver":
		os.Exit(cli.Run(apiserver.NewAPIServerCommand()))
	case "kube-controller-manager":
		os.Exit(cli.Run(controllermanager.NewControllerManagerCommand()))
	case "kube-scheduler":
		os.Exit(cli.Run(scheduler.NewSchedulerCommand()))
	case "exec-server":
		os.Exit(execServer(args))
	default:
		fmt.Fprintf(os.Stderr, "control-plane: unknown component %q\n", component)
		os.Exit(2)
	}
}

// answer is what the node agent says a command prints and how it exits.
type answer struct {
	Stdout   string `json:"stdout"`
	Stderr   string `json:"stderr"`
	ExitCode int    `json:"exitCode"`
	// DelayMs holds the answer back, as a slow command would (the agent's exec latency).
	DelayMs int `json:"delayMs"`
	// Hang never answers: the command runs until the caller gives up.
	Hang bool `json:"hang"`
}

type exitError struct{ code int }

func (e exitError) Error() string   { return fmt.Sprintf("command terminated with exit code %d", e.code) }
func (e exitError) String() string  { return e.Error() }
func (e exitError) Exited() bool    { return true }
func (e exitError) ExitStatus() int { return e.code }

type agentExecutor struct {
	answerURL string
	client    *http.Client
}

func (a agentExecutor) ExecInContainer(ctx context.Context, name string, uid types.UID, container string, cmd []string, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize, timeout time.Duration) error {
	namespace, pod, _ := strings.Cut(name, "/")
	body, _ := json.Marshal(map[string]any{"namespace": namespace, "pod": pod, "uid": string(uid), "container": container, "command": cmd})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.answerURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("node agent: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("node agent: %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	var ans answer
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		return fmt.Errorf("node agent: %v", err)
	}
	if ans.Hang {
		<-ctx.Done()
		return ctx.Err()
	}
	if ans.DelayMs > 0 {
		select {
		case <-time.After(time.Duration(ans.DelayMs) * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if out != nil {
		io.WriteString(out, ans.Stdout)
	}
	if errw != nil {
		io.WriteString(errw, ans.Stderr)
	}
	if ans.ExitCode != 0 {
		return exitError{ans.ExitCode}
	}
	return nil
}

// execServer serves /exec/{namespace}/{pod}/{container}?command=... as a kubelet does, on TLS with a
// throwaway certificate (the API server does not verify kubelets unless told to). It prints its address.
func execServer(args []string) int {
	fs := flag.NewFlagSet("exec-server", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on (loopback only)")
	answerURL := fs.String("answer-url", "", "the node agent's URL that answers commands")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *answerURL == "" {
		fmt.Fprintln(os.Stderr, "exec-server: --answer-url is required")
		return 2
	}
	cert, err := selfSigned()
	if err != nil {
		fmt.Fprintln(os.Stderr, "exec-server:", err)
		return 1
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "exec-server:", err)
		return 1
	}
	executor := agentExecutor{answerURL: *answerURL, client: &http.Client{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/exec/", func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/exec/"), "/")
		if len(parts) < 3 {
			http.Error(w, "want /exec/{namespace}/{pod}/{container}", http.StatusBadRequest)
			return
		}
		// kubelet's /exec/{namespace}/{pod}/{uid}/{container} form carries the uid too.
		namespace, pod, container, uid := parts[0], parts[1], parts[len(parts)-1], ""
		if len(parts) == 4 {
			uid = parts[2]
		}
		opts, err := streaming.NewOptions(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		streaming.ServeExec(w, r, executor, namespace+"/"+pod, types.UID(uid), container, r.URL.Query()["command"], opts,
			4*time.Hour, remotecommandconsts.DefaultStreamCreationTimeout, remotecommandconsts.SupportedStreamingProtocols)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	server := &http.Server{Handler: mux, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}
	fmt.Printf("listening %s\n", ln.Addr().String())
	if err := server.ServeTLS(ln, "", ""); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "exec-server:", err)
		return 1
	}
	return 0
}

func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	template := x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "dualstack-test-kubelet"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, &template, &template, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
