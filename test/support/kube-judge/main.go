// kube-judge answers, with kube-apiserver's own code (k8s.io/kubernetes at the version of the e2e
// control plane), what the API server would say about a pod: whether it accepts it on CREATE,
// whether it accepts a pods/ephemeralcontainers update, and which Pod Security checks it fails.
// The tests use it instead of a hand-written model of pod validation, which drifts.
//
// JSON lines in, JSON lines out, one answer per input and in order:
//
//	{"op":"create","pod":{...v1 Pod...}}
//	{"op":"ephemeral","old":{...stored v1 Pod...},"new":{...v1 Pod with the ephemeral container...}}
//
// answer:
//
//	{"errors":[...],"warnings":[...],"podSecurity":{"baseline":[{"id","reason","detail"}],"restricted":[...]}}
//
// "errors" empty means accepted. For "ephemeral", "oldErrors" says whether the stored pod itself
// was one the API server accepts. A line that is not such an input gets {"fatal":"..."}.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/warning"
	"k8s.io/kubernetes/pkg/api/legacyscheme"
	api "k8s.io/kubernetes/pkg/apis/core"
	_ "k8s.io/kubernetes/pkg/apis/core/install"
	"k8s.io/kubernetes/pkg/capabilities"
	podregistry "k8s.io/kubernetes/pkg/registry/core/pod"
	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

type input struct {
	Op  string          `json:"op"`
	Pod json.RawMessage `json:"pod"`
	Old json.RawMessage `json:"old"`
	New json.RawMessage `json:"new"`
}

type failedCheck struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
}

type answer struct {
	Errors      []string                 `json:"errors"`
	OldErrors   *[]string                `json:"oldErrors,omitempty"`
	Warnings    []string                 `json:"warnings"`
	PodSecurity map[string][]failedCheck `json:"podSecurity,omitempty"`
	Fatal       string                   `json:"fatal,omitempty"`
}

type warnings struct {
	sync.Mutex
	list []string
}

func (w *warnings) AddWarning(_, text string) {
	w.Lock()
	defer w.Unlock()
	w.list = append(w.list, text)
}

// decode reads a v1 Pod as the API server reads a request body: the v1 defaults applied, then
// converted to the internal type the registry works on.
func decode(raw json.RawMessage) (*api.Pod, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("no pod")
	}
	obj, _, err := legacyscheme.Codecs.UniversalDecoder(api.SchemeGroupVersion).Decode(raw, nil, nil)
	if err != nil {
		return nil, err
	}
	pod, ok := obj.(*api.Pod)
	if !ok {
		return nil, fmt.Errorf("not a Pod: %T", obj)
	}
	return pod, nil
}

func messages(err error) []string {
	if err == nil {
		return []string{}
	}
	if status, ok := err.(apierrors.APIStatus); ok && status.Status().Details != nil && len(status.Status().Details.Causes) > 0 {
		out := []string{}
		for _, c := range status.Status().Details.Causes {
			out = append(out, fmt.Sprintf("%s: %s", c.Field, c.Message))
		}
		return out
	}
	return []string{err.Error()}
}

func requestContext(pod *api.Pod, w *warnings) context.Context {
	if pod.Namespace == "" {
		pod.Namespace = "default"
	}
	ctx := genericapirequest.WithNamespace(context.Background(), pod.Namespace)
	return warning.WithWarningRecorder(ctx, w)
}

// create is what the pod store does on CREATE after mutating admission: system fields filled, a
// generated name, then the pod strategy's PrepareForCreate and Validate (rest.BeforeCreate).
func create(pod *api.Pod, w *warnings) error {
	ctx := requestContext(pod, w)
	rest.FillObjectMetaSystemFields(pod)
	if pod.Name == "" && pod.GenerateName != "" {
		pod.Name = pod.GenerateName + "x7k2q"
	}
	return rest.BeforeCreate(podregistry.Strategy, ctx, pod)
}

// Pod Security at the latest version, check by check so each failure carries its ID. A
// restricted check replaces the baseline checks it overrides, as the evaluator does.
var (
	checks    = policy.DefaultChecks()
	evaluator policy.Evaluator
)

func init() {
	// As kube-apiserver --allow-privileged=true sets it (the e2e control plane, kubeadm, every
	// cluster that runs privileged system pods): without it every privileged container is refused.
	capabilities.Setup(true, 0)
	e, err := policy.NewEvaluator(checks, nil)
	if err != nil {
		panic(err)
	}
	evaluator = e
}

func podSecurity(pod *api.Pod) (map[string][]failedCheck, error) {
	var v1pod corev1.Pod
	if err := legacyscheme.Scheme.Convert(pod, &v1pod, nil); err != nil {
		return nil, err
	}
	out := map[string][]failedCheck{}
	for _, level := range []psaapi.Level{psaapi.LevelBaseline, psaapi.LevelRestricted} {
		overridden := map[policy.CheckID]bool{}
		if level == psaapi.LevelRestricted {
			for _, c := range checks {
				if c.Level == psaapi.LevelRestricted {
					for _, id := range c.Versions[len(c.Versions)-1].OverrideCheckIDs {
						overridden[id] = true
					}
				}
			}
		}
		failed := []failedCheck{}
		for _, c := range checks {
			if (level == psaapi.LevelBaseline && c.Level != psaapi.LevelBaseline) || overridden[c.ID] {
				continue
			}
			r := c.Versions[len(c.Versions)-1].CheckPod(&v1pod.ObjectMeta, &v1pod.Spec)
			if !r.Allowed {
				failed = append(failed, failedCheck{string(c.ID), r.ForbiddenReason, r.ForbiddenDetail})
			}
		}
		// The evaluator the admission plugin uses must agree, or this judge has drifted.
		agg := policy.AggregateCheckResults(evaluator.EvaluatePod(
			psaapi.LevelVersion{Level: level, Version: psaapi.LatestVersion()}, &v1pod.ObjectMeta, &v1pod.Spec))
		if len(agg.ForbiddenReasons) != len(failed) {
			return nil, fmt.Errorf("pod security %s: %d checks failed one by one, the evaluator says %v", level, len(failed), agg.ForbiddenReasons)
		}
		out[string(level)] = failed
	}
	return out, nil
}

func judge(in input) (a answer) {
	defer func() {
		if r := recover(); r != nil {
			a = answer{Fatal: fmt.Sprintf("panic: %v", r)}
		}
	}()
	w := &warnings{}
	a.Warnings = []string{}
	var judged *api.Pod
	switch in.Op {
	case "create":
		pod, err := decode(in.Pod)
		if err != nil {
			return answer{Errors: []string{"decode: " + err.Error()}, Warnings: a.Warnings}
		}
		a.Errors = messages(create(pod, w))
		judged = pod
	case "ephemeral":
		old, err := decode(in.Old)
		if err != nil {
			return answer{Fatal: "old: " + err.Error()}
		}
		oldErrors := messages(create(old, &warnings{}))
		a.OldErrors = &oldErrors
		old.ResourceVersion = "1"
		pod, err := decode(in.New)
		if err != nil {
			return answer{Errors: []string{"decode: " + err.Error()}, Warnings: a.Warnings}
		}
		// The client sends back the pod it read, with the stored identity.
		pod.Namespace, pod.Name, pod.UID = old.Namespace, old.Name, old.UID
		pod.ResourceVersion = old.ResourceVersion
		ctx := requestContext(pod, w)
		a.Errors = messages(rest.BeforeUpdate(podregistry.EphemeralContainersStrategy, ctx, pod, old))
		judged = pod
	default:
		return answer{Fatal: fmt.Sprintf("unknown op %q", in.Op)}
	}
	a.Warnings = append(a.Warnings, w.list...)
	ps, err := podSecurity(judged)
	if err != nil {
		return answer{Fatal: err.Error()}
	}
	a.PodSecurity = ps
	return a
}

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer out.Flush()
	for {
		text, err := in.ReadBytes('\n')
		if len(bytes.TrimSpace(text)) > 0 {
			var req input
			var a answer
			if jerr := json.Unmarshal(text, &req); jerr != nil {
				a = answer{Fatal: "not an input line: " + jerr.Error()}
			} else {
				a = judge(req)
			}
			line, merr := json.Marshal(a)
			if merr != nil {
				line, _ = json.Marshal(answer{Fatal: merr.Error()})
			}
			out.Write(line)
			out.WriteByte('\n')
		}
		// Flushed when no further input is waiting, so a batch costs few writes.
		if in.Buffered() == 0 || err != nil {
			out.Flush()
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "kube-judge:", err)
			os.Exit(2)
		}
	}
}
