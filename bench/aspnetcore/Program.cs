// ASP.NET Core SignalR as a bench target: the hub of hubwire's target at the same path, JSON and
// MessagePack, all three transports, Kestrel's and SignalR's defaults. Logging is off, as
// hubwire's target runs with its silent logger. The bench drives it with JSON lines on stdin
// (the same commands as a Node target's IPC) and reads JSON lines on stdout (Control.cs).
using Hubwire.Bench;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.SignalR;

var builder = WebApplication.CreateBuilder(args);
builder.WebHost.UseUrls("http://127.0.0.1:0");
builder.Logging.ClearProviders();
builder.Services.AddSingleton<ConnectionCount>();
builder.Services.AddSignalR().AddMessagePackProtocol();

var app = builder.Build();
app.MapHub<BenchHub>("/bench");
await app.StartAsync();

var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
var control = new Control(app.Services.GetRequiredService<IHubContext<BenchHub>>(), app.Services.GetRequiredService<ConnectionCount>());
control.Send($$"""{"kind":"ready","port":{{new Uri(address).Port}}}""");
// Until the bench closes stdin (or dies, which closes it too).
await control.RunAsync(Console.In);
await app.StopAsync(TimeSpan.FromSeconds(2));
