// Command pulumi-language-python runs this repository's Pulumi program for the real Pulumi CLI.
//
// Why it exists: Pulumi's own Python language host is a Go module of its own
// (github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3) that the Go module proxy these machines
// reach refuses (403 for its version list and for the pseudo-versions of the sdk/v3 release commits), and a host
// cannot be vendored. The CLI itself (pkg/v3) and the SDK (sdk/v3) are served, so this host does the one job
// the CLI needs from a language plugin, the way Pulumi's host does it, with Pulumi's own pieces:
//
//   - the virtual environment and the Python command come from sdk/v3's python/toolchain (the package Pulumi's
//     host uses), from the `runtime.options` of Pulumi.yaml (virtualenv, toolchain);
//   - the program runs under Pulumi's own `pulumi-language-python-exec` (taken from the sdk/v3 module and put
//     beside this binary by scripts/pulumi-cli), with the same arguments and PULUMI_CONFIG /
//     PULUMI_CONFIG_SECRET_KEYS environment as Pulumi's host passes (its Run and constructArguments);
//   - exit code 32 means the program already showed its error: the run bails without a second message.
//
// What it leaves out, because no program here needs it: plugin discovery from installed Python packages
// (GetRequiredPackages returns none; this project uses only dynamic providers), typecheckers, debuggers,
// `pulumi install`, `pulumi new` and code generation (those calls answer Unimplemented).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Set at build time (scripts/pulumi-cli) to the Pulumi version this host is built with.
var version = "dev"

// The exit code with which pulumi-language-python-exec says "the user has seen the error already".
const exitAfterUserActionableMessage = 32

// The executor Pulumi's host runs the program with, found beside the host as Pulumi's host finds it.
const executorName = "pulumi-language-python-exec"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-version" {
		fmt.Println(version)
		return
	}
	executable, err := os.Executable()
	if err != nil {
		fail(fmt.Errorf("could not find this executable: %w", err))
	}
	executor := filepath.Join(filepath.Dir(executable), executorName)
	if _, err := os.Stat(executor); err != nil {
		fail(fmt.Errorf("missing %s beside the language host (run scripts/pulumi-cli): %w", executorName, err))
	}
	// The CLI passes the engine's address as the only argument.
	engineAddress := ""
	if len(os.Args) > 1 {
		engineAddress = os.Args[len(os.Args)-1]
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cancel := make(chan bool)
	go func() {
		<-ctx.Done()
		close(cancel)
	}()
	if engineAddress != "" {
		// Exit with the engine, as every Pulumi plugin does.
		if err := rpcutil.Healthcheck(ctx, engineAddress, 5*time.Minute, stop); err != nil {
			fail(fmt.Errorf("could not start the health check of the engine: %w", err))
		}
	}
	host := &languageHost{executor: executor, engineAddress: engineAddress}
	host.cancelCtx, host.cancelRuns = context.WithCancel(context.Background())
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
	})
	if err != nil {
		fail(fmt.Errorf("could not start the language host's RPC server: %w", err))
	}
	// The CLI reads the port from the first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fail(fmt.Errorf("the language host's RPC server stopped: %w", err))
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "error: %v\n", err)
	os.Exit(1)
}

type languageHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	executor      string
	engineAddress string

	cancelCtx  context.Context
	cancelRuns context.CancelFunc
}

// pythonOptions reads Pulumi.yaml's runtime options as Pulumi's host does (virtualenv relative to the root).
func pythonOptions(info *pulumirpc.ProgramInfo) (toolchain.PythonOptions, error) {
	opts := toolchain.PythonOptions{Root: info.GetRootDirectory(), ProgramDir: info.GetProgramDirectory()}
	options := info.GetOptions().AsMap()
	if value, ok := options["virtualenv"]; ok {
		virtualenv, isString := value.(string)
		if !isString {
			return opts, errors.New("virtualenv option must be a string")
		}
		opts.Virtualenv = virtualenv
	}
	if value, ok := options["toolchain"]; ok {
		name, isString := value.(string)
		if !isString {
			return opts, errors.New("toolchain option must be a string")
		}
		switch name {
		case "pip":
			opts.Toolchain = toolchain.Pip
		case "poetry":
			opts.Toolchain = toolchain.Poetry
		case "uv":
			opts.Toolchain = toolchain.Uv
		default:
			return opts, fmt.Errorf("unsupported toolchain option: %s", name)
		}
	}
	if _, ok := options["typechecker"]; ok {
		return opts, errors.New("the typechecker option is not supported by this language host")
	}
	return opts, nil
}

// toolchainOf is the Python toolchain of a program, as Pulumi's host resolves it.
func toolchainOf(info *pulumirpc.ProgramInfo) (toolchain.Toolchain, error) {
	opts, err := pythonOptions(info)
	if err != nil {
		return nil, err
	}
	return toolchain.ResolveToolchain(opts)
}

func (h *languageHost) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if address := req.GetEngineAddress(); address != "" {
		h.engineAddress = address
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *languageHost) GetRequiredPlugins(
	context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *languageHost) GetRequiredPackages(
	ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	tc, err := toolchainOf(req.GetInfo())
	if err != nil {
		return nil, err
	}
	// Pulumi's host lists the environment's packages here (with pip, `python -m pip list`), so an environment
	// it could not list fails here too.
	if _, err := tc.ListPackages(ctx, true); err != nil {
		return nil, fmt.Errorf("listing the packages of the Python environment: %w", err)
	}
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

func (h *languageHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (h *languageHost) About(
	ctx context.Context, req *pulumirpc.AboutRequest,
) (*pulumirpc.AboutResponse, error) {
	tc, err := toolchainOf(req.GetInfo())
	if err != nil {
		return nil, err
	}
	info, err := tc.About(ctx)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{Executable: info.PythonExecutable, Version: info.PythonVersion.String()}, nil
}

func (h *languageHost) InstallDependencies(
	*pulumirpc.InstallDependenciesRequest, grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	return status.Error(codes.Unimplemented,
		"this project installs its Python environment from uv.lock: run `make bootstrap`, not `pulumi install`")
}

func (h *languageHost) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.cancelRuns()
	return &emptypb.Empty{}, nil
}

// Run runs the program under Pulumi's executor, in the project's virtual environment.
func (h *languageHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	tc, err := toolchainOf(req.GetInfo())
	if err != nil {
		return nil, err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return nil, err
	}
	// PULUMI_CONFIG only when there is config, as Pulumi's host does (constructConfig): the executor reads
	// "null" as no mapping at all and fails.
	var configEnv []string
	if len(req.GetConfig()) > 0 {
		config, err := json.Marshal(req.GetConfig())
		if err != nil {
			return nil, fmt.Errorf("failed to serialize configuration: %w", err)
		}
		configEnv = append(configEnv, "PULUMI_CONFIG="+string(config))
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretKeysJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, fmt.Errorf("failed to serialize configuration secret keys: %w", err)
	}

	runCtx, stopRun := context.WithCancel(h.cancelCtx)
	defer stopRun()
	context.AfterFunc(ctx, stopRun)
	cmd, err := tc.Command(runCtx, append([]string{h.executor}, h.arguments(req)...)...)
	if err != nil {
		return nil, err
	}
	cmd.Cancel = func() error {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
	cmd.WaitDelay = 5 * time.Second
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(append(env, configEnv...), "PULUMI_CONFIG_SECRET_KEYS="+string(secretKeysJSON))

	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return &pulumirpc.RunResponse{
				Error: fmt.Sprintf("problem executing program (could not run language executor): %v", err),
			}, nil
		}
		if waitStatus, ok := exitErr.Sys().(syscall.WaitStatus); ok &&
			waitStatus.ExitStatus() == exitAfterUserActionableMessage {
			return &pulumirpc.RunResponse{Bail: true}, nil
		}
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("program exited with non-zero exit code: %d", exitErr.ExitCode()),
		}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// arguments are the executor's command line, as Pulumi's host builds it (constructArguments).
func (h *languageHost) arguments(req *pulumirpc.RunRequest) []string {
	var args []string
	add := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	add("monitor", req.GetMonitorAddress())
	add("engine", h.engineAddress)
	add("project", req.GetProject())
	add("root_directory", req.GetInfo().GetRootDirectory())
	add("stack", req.GetStack())
	add("pwd", req.GetPwd())
	add("dry_run", strconv.FormatBool(req.GetDryRun()))
	add("parallel", strconv.Itoa(int(req.GetParallel())))
	add("organization", req.GetOrganization())
	args = append(args, req.GetInfo().GetEntryPoint())
	return append(args, req.GetArgs()...)
}
