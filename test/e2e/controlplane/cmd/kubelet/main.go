// Command kubelet is the upstream kubelet, built from the same module and
// versions as the control plane, so the e2e tier runs a real node whose
// containers the tests can look into.
package main

import (
	"context"
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kubelet/app"

	// The same side-effect imports as upstream cmd/kubelet.
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
)

func main() {
	os.Exit(cli.Run(app.NewKubeletCommand(context.Background())))
}
