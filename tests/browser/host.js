// The test host's page script: renders a tool's App the way a real host does, with the official
// ext-apps host bridge (AppBridge + PostMessageTransport). The MCP client lives in Node (run.mjs)
// and is reached through `window.mcp(method, params)`, a Playwright-exposed function.
import { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";

// A host turns the resource's declared CSP into the frame's policy (what real hosts' sandbox
// proxies do): media may come only from the origins the server named.
function policy(csp) {
  const resources = (csp && csp.resourceDomains) || [];
  const connect = (csp && csp.connectDomains) || [];
  const src = (extra) => ["'self'", ...extra].join(" ");
  return [
    "default-src 'none'",
    "script-src 'unsafe-inline'",
    "style-src 'unsafe-inline'",
    `img-src ${src(["data:", ...resources])}`,
    `media-src ${src(resources)}`,
    `connect-src ${src(connect)}`,
    "frame-src 'none'",
  ].join("; ");
}

window.showApp = async (toolName, toolArguments, toolResult) => {
  const { tools } = await window.mcp("tools/list", {});
  const tool = tools.find((t) => t.name === toolName);
  const uri = tool && tool._meta && tool._meta.ui && tool._meta.ui.resourceUri;
  if (!uri) throw new Error(`${toolName} has no App`);
  const { contents } = await window.mcp("resources/read", { uri });
  const [resource] = contents;
  const csp = resource._meta && resource._meta.ui && resource._meta.ui.csp;
  const meta = `<meta http-equiv="Content-Security-Policy" content="${policy(csp)}">`;
  const html = resource.text.replace("<head>", `<head>\n${meta}`);

  const iframe = document.createElement("iframe");
  iframe.id = "app";
  iframe.setAttribute("sandbox", "allow-scripts");
  iframe.setAttribute("allow", "autoplay");
  document.getElementById("frame").append(iframe);

  const bridge = new AppBridge(
    null,
    { name: "nemo-test-host", version: "1.0.0" },
    { serverTools: {}, openLinks: {}, logging: {}, updateModelContext: { text: {} } },
    { hostContext: { theme: "dark", displayMode: "inline" } },
  );
  window.hostLog = [];
  bridge.oncalltool = async (params) => {
    window.hostLog.push({ call: params.name });
    return window.mcp("tools/call", params);
  };
  bridge.onupdatemodelcontext = async (params) => {
    window.hostLog.push({ modelContext: params.content });
    return {};
  };
  bridge.onsizechange = ({ height }) => {
    if (height) iframe.style.height = `${Math.min(height, 1400)}px`;
  };
  const initialized = new Promise((resolve) => { bridge.oninitialized = resolve; });
  const transport = new PostMessageTransport(iframe.contentWindow, iframe.contentWindow);
  await bridge.connect(transport);
  iframe.srcdoc = html;
  await initialized;
  await bridge.sendToolInput({ arguments: toolArguments });
  await bridge.sendToolResult(toolResult);
  window.bridge = bridge;
  return { uri, csp, policy: policy(csp) };
};
