using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;

namespace Hubwire.Bench;

/// <summary>
/// The bench's commands (bench/protocol.ts, ServerCommand) as JSON lines on stdin, and its events
/// (ServerEvent) as JSON lines on stdout: what bench/server-process.ts does for a Node target over
/// IPC, measured the same way. CPU time is getrusage(RUSAGE_SELF), user + system, as Node's
/// process.cpuUsage(); resident memory is the rss field of /proc/self/stat, as Node's
/// process.memoryUsage().rss, read after a full blocking garbage collection as there after gc().
/// Broadcasts and group sends are paced here, in the measured process, as there.
/// </summary>
public sealed partial class Control(IHubContext<BenchHub> hub, ConnectionCount count)
{
    private long cpuBaseline = CpuMicros();

    public async Task RunAsync(TextReader input)
    {
        while (await input.ReadLineAsync() is { } line)
        {
            if (line.Length == 0) continue;
            using var command = JsonDocument.Parse(line);
            var root = command.RootElement;
            switch (root.GetProperty("kind").GetString())
            {
                case "reset":
                    cpuBaseline = CpuMicros();
                    break;
                case "report":
                    Report(root.TryGetProperty("collect", out var collect) && collect.GetBoolean());
                    break;
                case "broadcast":
                    _ = PaceAsync(root.GetProperty("rate").GetDouble(), root.GetProperty("durationMs").GetDouble(), _ => hub.Clients.All);
                    break;
                case "groups":
                    var groups = root.GetProperty("groups").GetInt32();
                    _ = PaceAsync(root.GetProperty("rate").GetDouble(), root.GetProperty("durationMs").GetDouble(), sent => hub.Clients.Group($"g{sent % groups}"));
                    break;
            }
        }
    }

    /// <summary>CPU time since the last reset, and memory; `collect`: after a full collection (see bench/protocol.ts).</summary>
    private void Report(bool collect)
    {
        var cpu = CpuMicros() - cpuBaseline;
        if (collect) GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        Send(string.Create(CultureInfo.InvariantCulture,
            $$"""{"kind":"report","cpuMicros":{{cpu}},"rssBytes":{{ResidentBytes()}},"heapBytes":{{GC.GetTotalMemory(false)}},"connections":{{count.Value}}}"""));
    }

    /// <summary>
    /// Sends `tick` (its send time in µs) to `target(n)` for the n-th send, `rate` times a second
    /// for `durationMs`, in small batches each millisecond, then reports done: bench/server-process.ts's
    /// pace(). Sends are not awaited, as hubwire's target does not await its sends.
    /// </summary>
    private async Task PaceAsync(double rate, double durationMs, Func<long, IClientProxy> target)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        long sent = 0;
        while (true)
        {
            var elapsedMs = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (elapsedMs >= durationMs) break;
            var due = (long)Math.Floor(elapsedMs / 1000 * rate);
            while (sent < due)
            {
                _ = target(sent).SendAsync("tick", NowMicros());
                sent++;
            }
            await Task.Delay(1);
        }
        Send($$"""{"kind":"done","sent":{{sent}}}""");
    }

    /// <summary>One event line; Console.Out is synchronized, so pacing tasks may write at any time.</summary>
    public void Send(string line) => Console.Out.WriteLine(line);

    /// <summary>
    /// µs on the monotonic clock, as the bench's nowMicros() (the loader subtracts it from its own):
    /// on Linux both read CLOCK_MONOTONIC, which a step of the wall clock leaves alone.
    /// </summary>
    private static long NowMicros() => (long)(System.Diagnostics.Stopwatch.GetTimestamp() * (1_000_000.0 / System.Diagnostics.Stopwatch.Frequency));

    private static long CpuMicros()
    {
        Span<long> usage = stackalloc long[18]; // struct rusage: two timevals, then 14 longs
        if (GetRusage(0, ref MemoryMarshal.GetReference(usage)) != 0) throw new InvalidOperationException("getrusage failed");
        return usage[0] * 1_000_000 + usage[1] + usage[2] * 1_000_000 + usage[3];
    }

    /// <summary>The 24th field of /proc/self/stat (resident pages) times the page size, as libuv reads it for Node.</summary>
    private static long ResidentBytes()
    {
        var stat = File.ReadAllText("/proc/self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[24 - 3], CultureInfo.InvariantCulture) * Environment.SystemPageSize;
    }

    [LibraryImport("libc", EntryPoint = "getrusage")]
    private static partial int GetRusage(int who, ref long usage);
}
