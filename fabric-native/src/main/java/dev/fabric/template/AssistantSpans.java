package dev.fabric.template;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Finds the assistant replies in a rendered conversation without knowing the template's format.
 *
 * <p>Where the template marks replies with Hugging Face's {@code {% generation %}} blocks, those are the
 * spans, exactly ({@link GenerationTag}). Otherwise a reply is what the model would produce after the
 * template's generation prompt, up to and including its end-of-turn text, found in one of two ways, tried in
 * order for each assistant message {@code i}:
 * <ol>
 *   <li><b>Prefix.</b> Render messages {@code [0, i)} with the generation prompt ({@code P}) and
 *       {@code [0, i]} without ({@code F}). If {@code P} is a prefix of {@code F} and {@code F} a prefix of
 *       the whole rendering, the reply starts at {@code |P|} and ends after the last end-of-turn text before
 *       {@code |F|} (what follows it, such as ChatML's newline, is scaffolding). Exact for templates whose
 *       rendering of a turn does not depend on later messages (ChatML, Llama 3, the last turn of Qwen3).</li>
 *   <li><b>Header.</b> Templates such as Qwen3 render earlier turns differently once later messages follow
 *       (reasoning is dropped from turns before the last user query). Then the turn header is taken as the
 *       text the generation prompt adds ({@code P} minus the rendering of {@code [0, i)}), located in the
 *       whole rendering after the previous reply (the earliest match of the whole header or of its first line,
 *       so a prompt that pre-fills an empty think block still finds a plain header), and the
 *       reply runs from there to the first end-of-turn text. The reply's visible answer must lie inside.</li>
 * </ol>
 * A template that writes no generation prompt at all leaves the turn header unknown; the reply then starts
 * at its visible answer (reasoning the template writes before the answer is then not trained).
 * Limits: a template that writes the header text or the end-of-turn text inside a user message, or renders a
 * reply without any end-of-turn text, defeats the header way; the error then names the message.
 */
final class AssistantSpans {
    private AssistantSpans() {}

    static RenderedConversation find(ChatTemplate t, List<ChatMessage> msgs, Map<String, Object> extra) {
        if (t.marksGeneration()) return fromGenerationBlocks(t, msgs, extra);
        String full = t.render(msgs, false, extra);
        String eot = t.endOfTurn().orElse(null);
        List<RenderedConversation.Span> spans = new ArrayList<>();
        int cursor = 0;
        Boolean promptless = null;
        for (int i = 0; i < msgs.size(); i++) {
            if (!"assistant".equals(msgs.get(i).role())) continue;
            List<ChatMessage> before = msgs.subList(0, i);
            String prompt = t.render(before, true, extra);
            if (promptless == null) promptless = prompt.equals(t.render(before, false, extra));
            RenderedConversation.Span s = byPrefix(t, msgs, i, prompt, full, eot, cursor, promptless, extra);
            if (s == null) s = byHeader(t, msgs.get(i), i, before, prompt, full, eot, cursor, extra);
            if (s == null) {
                throw new TemplateException("chat template '" + t.name() + "': cannot locate the reply of message "
                        + i + " (assistant) in the rendered text");
            }
            spans.add(s);
            cursor = s.end();
        }
        return new RenderedConversation(full, spans);
    }

    private static RenderedConversation fromGenerationBlocks(ChatTemplate t, List<ChatMessage> msgs,
            Map<String, Object> extra) {
        Map<String, Object> tracked = new java.util.HashMap<>(extra == null ? Map.of() : extra);
        tracked.put(GenerationTag.TRACK, true);
        String marked = t.render(msgs, false, tracked);
        List<Integer> assistants = new ArrayList<>();
        for (int i = 0; i < msgs.size(); i++) if ("assistant".equals(msgs.get(i).role())) assistants.add(i);
        StringBuilder text = new StringBuilder(marked.length());
        List<RenderedConversation.Span> spans = new ArrayList<>();
        int open = -1;
        for (int k = 0; k < marked.length(); k++) {
            char c = marked.charAt(k);
            if (c == GenerationTag.OPEN && open < 0) {
                open = text.length();
            } else if (c == GenerationTag.CLOSE && open >= 0) {
                int n = spans.size();
                spans.add(new RenderedConversation.Span(n < assistants.size() ? assistants.get(n) : -1, open, text.length()));
                open = -1;
            } else if (c == GenerationTag.OPEN || c == GenerationTag.CLOSE) {
                throw new TemplateException("chat template '" + t.name() + "': nested or unbalanced {% generation %} blocks,"
                        + " or the conversation contains U+FDD0/U+FDD1, the characters that mark them");
            } else {
                text.append(c);
            }
        }
        if (spans.size() != assistants.size()) {
            throw new TemplateException("chat template '" + t.name() + "': " + spans.size()
                    + " {% generation %} blocks for " + assistants.size() + " assistant messages");
        }
        if (!text.toString().equals(t.render(msgs, false, extra))) {
            throw new TemplateException("chat template '" + t.name() + "': the conversation contains the characters"
                    + " U+FDD0/U+FDD1 that mark {% generation %} blocks");
        }
        return new RenderedConversation(text.toString(), spans);
    }

    private static RenderedConversation.Span byPrefix(ChatTemplate t, List<ChatMessage> msgs, int i, String prompt,
            String full, String eot, int cursor, boolean promptless, Map<String, Object> extra) {
        String withReply = t.render(msgs.subList(0, i + 1), false, extra);
        if (!withReply.startsWith(prompt) || !full.startsWith(withReply) || prompt.length() < cursor) return null;
        int start = prompt.length();
        if (promptless) {
            // The template writes no generation prompt, so the turn header is not known: start at the answer.
            String answer = visibleAnswer(msgs.get(i));
            int at = answer.isEmpty() ? -1 : withReply.indexOf(answer, start);
            if (at >= 0) start = at;
        }
        int end;
        int k = eot == null ? -1 : withReply.lastIndexOf(eot);
        if (k >= start) {
            end = k + eot.length();
        } else {
            // No end-of-turn text: the reply is the turn minus trailing whitespace.
            end = withReply.length();
            while (end > start && Character.isWhitespace(withReply.charAt(end - 1))) end--;
        }
        return new RenderedConversation.Span(i, start, end);
    }

    private static RenderedConversation.Span byHeader(ChatTemplate t, ChatMessage m, int i, List<ChatMessage> before,
            String prompt, String full, String eot, int cursor, Map<String, Object> extra) {
        if (eot == null) return null;
        String base = t.render(before, false, extra);
        if (!prompt.startsWith(base) || prompt.length() == base.length()) return null;
        String header = prompt.substring(base.length());
        // Candidates: the whole generation prompt, and its first line(s) up to the first newline. A prompt may
        // pre-fill part of the reply (Qwen3 without thinking pre-fills an empty think block); where the turn
        // does not repeat that pre-fill in full, the reply starts right after the role line.
        int nl = header.indexOf('\n');
        List<String> candidates = nl >= 0 && nl + 1 < header.length()
                ? List.of(header, header.substring(0, nl + 1)) : List.of(header);
        int bestAt = -1, bestLen = 0;
        for (String c : candidates) {
            int at = full.indexOf(c, cursor);
            if (at >= 0 && (bestAt < 0 || at < bestAt)) {
                bestAt = at;
                bestLen = c.length();
            }
        }
        if (bestAt < 0) return null;
        int start = bestAt + bestLen;
        int k = full.indexOf(eot, start);
        if (k < 0) return null;
        int end = k + eot.length();
        String answer = visibleAnswer(m);
        if (!answer.isEmpty() && !full.substring(start, end).contains(answer)) return null;
        return new RenderedConversation.Span(i, start, end);
    }

    /** The reply's answer without any reasoning block, trimmed: text every template must show somewhere. */
    private static String visibleAnswer(ChatMessage m) {
        String c = m.content() == null ? "" : m.content();
        int k = c.lastIndexOf("</think>");
        if (k >= 0) c = c.substring(k + "</think>".length());
        return c.strip();
    }
}
