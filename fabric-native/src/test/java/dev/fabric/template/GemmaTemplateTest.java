package dev.fabric.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The built-in Gemma template: turn format, system folding, generation prompt, spans (written out by hand). */
class GemmaTemplateTest {
    private static final List<ChatMessage> CHAT = List.of(ChatMessage.system(" Be brief. "), ChatMessage.user("Hi"),
            ChatMessage.assistant(" Hello \n"), ChatMessage.user("Bye"));

    @Test
    void rendersGemmasTurnFormat() {
        ChatTemplate t = ChatTemplate.named("gemma");
        assertEquals("<end_of_turn>", t.endOfTurn().orElseThrow());
        assertEquals("<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello<end_of_turn>\n"
                + "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n", t.render(CHAT, true, null));
        // A BOS text from the model replaces the default.
        assertTrue(ChatTemplate.of("g", t.source(), Map.of("bos_token", "<s>")).render(CHAT, false, null).startsWith("<s><start"));
        RenderedConversation r = t.renderWithSpans(CHAT.subList(0, 3), null);
        assertEquals(List.of("Hello<end_of_turn>"), r.replies());
    }

    @Test
    void rejectsRolesGemmaHasNot() {
        ChatTemplate t = ChatTemplate.named("gemma");
        TemplateException e = assertThrows(TemplateException.class,
                () -> t.render(List.of(ChatMessage.user("x"), ChatMessage.tool("y")), false, null));
        assertTrue(e.getMessage().contains("Gemma templates know only user and assistant turns"), e.getMessage());
    }
}
