// Command kube-scheduler is the upstream scheduler. The controlplane command
// starts it as a child process when asked to, so that pods made by
// Deployments, Jobs and other controllers are placed on the test node.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"

	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
)

func main() {
	os.Exit(cli.Run(app.NewSchedulerCommand()))
}
