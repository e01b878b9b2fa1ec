package loadgen

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// Report is the outcome of one run against one server.
type Report struct {
	Label   string    `json:"label"`
	Target  string    `json:"target"`
	Started time.Time `json:"started"`
	Machine Machine   `json:"machine"`
	// Settings are the run's parameters, for the record.
	Settings map[string]string `json:"settings"`
	Results  []Result          `json:"results"`
}

// Result is what one scenario measured.
type Result struct {
	Scenario string            `json:"scenario"`
	Figures  []Figure          `json:"figures"`
	Errors   map[string]int64  `json:"errors,omitempty"`
	Examples map[string]string `json:"examples,omitempty"`
	Notes    []string          `json:"notes,omitempty"`
}

// Figure is one measured number.
type Figure struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit,omitempty"`
	// Better is "higher" or "lower" (empty: neither, e.g. a count).
	Better string `json:"better,omitempty"`
}

// add records a figure; a value that could not be measured (NaN, as the
// median of nothing) is left out.
func (r *Result) add(name string, v float64, unit, better string) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	r.Figures = append(r.Figures, Figure{Name: name, Value: v, Unit: unit, Better: better})
}

// addLatency adds p50, p90, p99 and p999 of d in milliseconds.
func (r *Result) addLatency(prefix string, d Dist) {
	if d.N == 0 {
		return
	}
	for _, q := range []struct {
		name string
		q    float64
	}{{"p50", 0.50}, {"p90", 0.90}, {"p99", 0.99}, {"p999", 0.999}} {
		r.add(prefix+" "+q.name, ms(d.Quantile(q.q)), "ms", "lower")
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Figure returns the named figure of a scenario.
func (rep *Report) Figure(scenario, name string) (Figure, bool) {
	for _, r := range rep.Results {
		if r.Scenario != scenario {
			continue
		}
		for _, f := range r.Figures {
			if f.Name == name {
				return f, true
			}
		}
	}
	return Figure{}, false
}

// Machine describes where a run happened.
type Machine struct {
	CPU       string `json:"cpu"`
	Cores     int    `json:"cores"`
	Kernel    string `json:"kernel"`
	GoVersion string `json:"goVersion"`
	OpenFiles int    `json:"openFilesPerProcess"`
	// LoadAvg is /proc/loadavg when the run started: the machine is shared,
	// so this says how busy it was.
	LoadAvg string `json:"loadAvg,omitempty"`
}

// ThisMachine describes the machine the load generator runs on.
func ThisMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), OpenFiles: OpenFilesLimit(0)}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.LoadAvg = strings.TrimSpace(string(b))
	}
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		m.Kernel = utsString(u.Sysname[:]) + " " + utsString(u.Release[:])
	}
	return m
}

func utsString(b []int8) string {
	var s strings.Builder
	for _, c := range b {
		if c == 0 {
			break
		}
		s.WriteByte(byte(c))
	}
	return s.String()
}

// WriteTable prints a report as a table.
func (rep *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "%s → %s (%s, %d cores, %s, %s, load average at start %s)\n", rep.Label, rep.Target, rep.Machine.CPU, rep.Machine.Cores, rep.Machine.Kernel, rep.Machine.GoVersion, rep.Machine.LoadAvg)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tfigure\tvalue\tunit\t")
	for _, r := range rep.Results {
		for _, f := range r.Figures {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", r.Scenario, f.Name, FormatValue(f.Value), f.Unit)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rep.Results {
		for _, k := range sortedKeys(r.Errors) {
			fmt.Fprintf(w, "  %s errors: %s × %d (e.g. %s)\n", r.Scenario, k, r.Errors[k], r.Examples[k])
		}
		for _, n := range r.Notes {
			fmt.Fprintf(w, "  %s: %s\n", r.Scenario, n)
		}
	}
	return nil
}

// FormatValue prints a figure with three significant digits (integers
// above 1000 in full).
func FormatValue(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "-"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatInt(int64(v), 10)
	case math.Abs(v) >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case math.Abs(v) >= 10:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Median returns the median of vs (the mean of the middle two for an even
// count); NaN when empty.
func Median(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Row is one line of a comparison: a figure's median over the runs of
// each side, and their ratio.
type Row struct {
	Scenario string    `json:"scenario"`
	Figure   string    `json:"figure"`
	Unit     string    `json:"unit,omitempty"`
	Better   string    `json:"better,omitempty"`
	Subject  float64   `json:"subject"`
	Base     float64   `json:"base"`
	Ratio    float64   `json:"ratio"`
	Runs     []float64 `json:"runs"`
	BaseRuns []float64 `json:"baseRuns"`
	// BaseScenario is the baseline scenario compared with, when it is not
	// the same (routes only wsgate has are compared with the raw echo).
	BaseScenario string `json:"baseScenario,omitempty"`
	// Paired says Ratio is the median of per-round ratios (else the ratio
	// of the medians).
	Paired bool `json:"paired"`
}

// MarshalJSON writes null for a figure that has no value (NaN).
func (r Row) MarshalJSON() ([]byte, error) {
	num := func(v float64) *float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return &v
	}
	type row Row // without the method
	return json.Marshal(struct {
		row
		Subject *float64 `json:"subject"`
		Base    *float64 `json:"base"`
		Ratio   *float64 `json:"ratio"`
	}{row: row(r), Subject: num(r.Subject), Base: num(r.Base), Ratio: num(r.Ratio)})
}

// Comparison compares the runs of a subject (wsgate) with a baseline's.
type Comparison struct {
	Subject     string   `json:"subject"`
	Base        string   `json:"base"`
	SubjectRuns int      `json:"subjectRuns"`
	BaseRuns    int      `json:"baseRuns"`
	Machine     Machine  `json:"machine"`
	Rows        []Row    `json:"rows"`
	Notes       []string `json:"notes,omitempty"`
}

// Compare takes the median of every figure over each side's runs and a
// subject/base ratio: with as many runs on each side, the median of the
// ratios of runs paired in time order (bench/run runs the two back to back
// in each round, so a pair shares the machine's load of the moment);
// otherwise the ratio of the medians. Scenarios the base did not run are
// compared with the base's "echo" figures of the same name.
func Compare(subject, base []*Report) *Comparison {
	byTime := func(reps []*Report) []*Report {
		s := slices.Clone(reps)
		slices.SortStableFunc(s, func(a, b *Report) int { return a.Started.Compare(b.Started) })
		return s
	}
	subject, base = byTime(subject), byTime(base)
	c := &Comparison{SubjectRuns: len(subject), BaseRuns: len(base)}
	if len(subject) > 0 {
		c.Subject, c.Machine = subject[0].Label, subject[0].Machine
	}
	if len(base) > 0 {
		c.Base = base[0].Label
	}
	type key struct{ scenario, figure string }
	var order []key
	seen := map[key]Figure{}
	for _, rep := range subject {
		for _, r := range rep.Results {
			for _, f := range r.Figures {
				k := key{r.Scenario, f.Name}
				if _, ok := seen[k]; !ok {
					seen[k] = f
					order = append(order, k)
				}
			}
		}
	}
	collect := func(reps []*Report, scenario, figure string) []float64 {
		var vs []float64
		for _, rep := range reps {
			if f, ok := rep.Figure(scenario, figure); ok {
				vs = append(vs, f.Value)
			}
		}
		return vs
	}
	for _, k := range order {
		f := seen[k]
		row := Row{Scenario: k.scenario, Figure: k.figure, Unit: f.Unit, Better: f.Better}
		row.Runs = collect(subject, k.scenario, k.figure)
		row.BaseRuns = collect(base, k.scenario, k.figure)
		if len(row.BaseRuns) == 0 && (strings.HasPrefix(k.scenario, "route") || k.scenario == "echo-template") {
			if vs := collect(base, "echo", k.figure); len(vs) > 0 {
				row.BaseRuns, row.BaseScenario = vs, "echo"
			}
		}
		row.Subject, row.Base = Median(row.Runs), Median(row.BaseRuns)
		row.Ratio = math.NaN()
		if len(row.Runs) == len(row.BaseRuns) && len(row.Runs) == len(subject) && len(row.BaseRuns) == len(base) {
			var ratios []float64
			for i, v := range row.Runs {
				if row.BaseRuns[i] != 0 {
					ratios = append(ratios, v/row.BaseRuns[i])
				}
			}
			if len(ratios) == len(row.Runs) {
				row.Ratio, row.Paired = Median(ratios), true
			}
		}
		if !row.Paired && row.Base != 0 && !math.IsNaN(row.Base) {
			row.Ratio = row.Subject / row.Base
		}
		c.Rows = append(c.Rows, row)
	}
	slices.SortStableFunc(c.Rows, func(a, b Row) int { return cmp.Compare(scenarioRank(a.Scenario), scenarioRank(b.Scenario)) })
	return c
}

// WriteTable prints the comparison.
func (c *Comparison) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "%s vs %s: medians of %d and %d runs, ratio = median of the per-round ratios (%s, %d cores, %s, %s)\n",
		c.Subject, c.Base, c.SubjectRuns, c.BaseRuns, c.Machine.CPU, c.Machine.Cores, c.Machine.Kernel, c.Machine.GoVersion)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "scenario\tfigure\tunit\t%s\t%s\tratio\t\n", c.Subject, c.Base)
	for _, r := range c.Rows {
		ratio := "-"
		if !math.IsNaN(r.Ratio) && !math.IsInf(r.Ratio, 0) {
			ratio = strconv.FormatFloat(r.Ratio, 'f', 2, 64)
		}
		base := FormatValue(r.Base)
		if r.BaseScenario != "" {
			base += " (" + r.BaseScenario + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Scenario, r.Figure, r.Unit, FormatValue(r.Subject), base, ratio)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range c.Notes {
		fmt.Fprintln(w, n)
	}
	return nil
}

// WriteMarkdown prints the comparison as a Markdown table.
func (c *Comparison) WriteMarkdown(w io.Writer) {
	fmt.Fprintf(w, "| scenario | figure | unit | %s | %s | ratio |\n|---|---|---|--:|--:|--:|\n", c.Subject, c.Base)
	for _, r := range c.Rows {
		ratio := "–"
		if !math.IsNaN(r.Ratio) && !math.IsInf(r.Ratio, 0) {
			ratio = strconv.FormatFloat(r.Ratio, 'f', 2, 64)
		}
		base := FormatValue(r.Base)
		if math.IsNaN(r.Base) {
			base = "–"
		}
		if r.BaseScenario != "" {
			base += " (" + r.BaseScenario + ")"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", r.Scenario, r.Figure, r.Unit, FormatValue(r.Subject), base, ratio)
	}
}
