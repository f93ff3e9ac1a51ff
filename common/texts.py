"""What the gateway itself says to residents (not the bot's answers, which
live in ``domain/``). One entry per text, one variant per language."""
from __future__ import annotations

from common.languages import DEFAULT_LANGUAGE

TEXTS: dict[str, dict[str, str]] = {
    # The bot could not be reached; the message is kept and answered later.
    "bot_unavailable": {
        "sv": "Förlåt, jag kan inte svara just nu. Ditt meddelande är sparat. "
              "Du får ett svar så snart tjänsten fungerar igen.",
        "en": "Sorry, I cannot answer right now. Your message is saved. "
              "You will get an answer as soon as the service works again.",
        "ar": "عذراً، لا أستطيع الرد الآن. رسالتك محفوظة وستحصل على رد عندما تعمل الخدمة من جديد.",
        "so": "Waan ka xumahay, hadda ma jawaabi karo. Fariintaada waa la kaydiyay. "
              "Jawaab ayaad heli doontaa marka adeeggu mar kale shaqeeyo.",
        "fa": "متأسفم، الان نمی‌توانم جواب بدهم. پیام شما ذخیره شد و وقتی سرویس دوباره کار کند جواب می‌گیرید.",
        "ti": "ይቕረታ፡ ሕጂ ክምልስ ኣይክእልን። መልእኽትኹም ተዓቂቡ ኣሎ። ኣገልግሎት ምስ ተመለሰ መልሲ ክትረኽቡ ኢኹም።",
    },
    # SMS keywords (common/keywords.py): confirmed once, in the keyword's language.
    "opted_out": {
        "sv": "Du får inga fler SMS från hubbguiden. Skriv STARTA om du vill börja igen.",
        "en": "You will get no more SMS from the hub guide. Write START to begin again.",
        "ar": "لن تصلك رسائل أخرى من دليل المركز. اكتب ابدأ إذا أردت البدء من جديد.",
        "so": "Fariin SMS ah kama heli doontid hagaha xarunta. Qor BILOW haddii aad rabto inaad dib u bilowdo.",
        "fa": "دیگر SMS از راهنمای مرکز نمی‌گیرید. اگر می‌خواهید دوباره شروع کنید، شروع بنویسید.",
        "ti": "ካብ መምርሒ ማእከል ተወሳኺ SMS ኣይክትረኽቡን ኢኹም። ደጊምኩም ክትጅምሩ እንተደሊኹም ጀምር ጸሓፉ።",
    },
    "opted_in": {
        "sv": "Välkommen tillbaka! Skriv din fråga om jobb, studier eller att starta företag.",
        "en": "Welcome back! Write your question about work, studies or starting a business.",
        "ar": "أهلاً بعودتك! اكتب سؤالك عن العمل أو الدراسة أو بدء مشروع.",
        "so": "Ku soo dhawoow mar kale! Qor su'aashaada shaqo, waxbarasho ama bilaabid ganacsi.",
        "fa": "دوباره خوش آمدید! سؤال خود را درباره کار، تحصیل یا کسب‌وکار بنویسید.",
        "ti": "እንቋዕ ብደሓን ተመለስኩም! ብዛዕባ ስራሕ፡ ትምህርቲ ወይ ንግዲ ሕቶኹም ጸሓፉ።",
    },
    "help_keyword": {
        "sv": "Hubbguiden är en chattbot för de lokala hubbarna. Den svarar om jobb, studier och företag. "
              "Skriv STOPP för att inte få fler SMS.",
        "en": "The hub guide is a chatbot of the local hubs. It answers about work, studies and business. "
              "Write STOP to get no more SMS.",
        "ar": "دليل المركز روبوت محادثة للمراكز المحلية. اكتب توقف لإيقاف الرسائل.",
        "so": "Hagaha xarunta waa chatbot xarumaha deegaanka. Wuxuu ka jawaabaa shaqo, waxbarasho iyo ganacsi. "
              "Qor JOOJI si aadan fariimo kale u helin.",
        "fa": "راهنمای مرکز یک چت‌بات مراکز محلی است. برای قطع SMS توقف بنویسید.",
        "ti": "መምርሒ ማእከል ቻትቦት ናይ ከባቢ ማእከላት እዩ። ብዛዕባ ስራሕ፡ ትምህርቲን ንግድን ይምልስ። SMS ንምቁራጽ ኣቋርጽ ጸሓፉ።",
    },
    # An MMS with pictures or files and no text.
    "media_only": {
        "sv": "Tack! Jag kan bara läsa text. Skriv din fråga med ord.",
        "en": "Thank you! I can only read text. Please write your question in words.",
        "ar": "شكراً! أستطيع قراءة النص فقط. اكتب سؤالك بالكلمات.",
        "so": "Mahadsanid! Qoraal keliya ayaan akhriyi karaa. Fadlan su'aashaada ku qor erayo.",
        "fa": "ممنون! من فقط متن را می‌خوانم. لطفاً سؤالتان را با کلمات بنویسید.",
        "ti": "የቐንየለይ! ጽሑፍ ጥራይ እየ ዘንብብ። በጃኹም ሕቶኹም ብቓላት ጸሓፉ።",
    },
    # To the resident when the coordinator closes the handoff: the bot answers again.
    "handoff_closed": {
        "sv": "Koordinatorn har avslutat samtalet. Tack! Du kan skriva till mig igen när du vill.",
        "en": "The coordinator has closed the conversation. Thank you! You can write to me again any time.",
        "ar": "أنهى المنسق المحادثة. شكراً! يمكنك الكتابة لي مرة أخرى متى شئت.",
        "so": "Isku-duwaha wuu xiray wadahadalka. Mahadsanid! Mar kale ii soo qor goor kasta.",
        "fa": "هماهنگ‌کننده گفتگو را تمام کرد. ممنون! هر وقت خواستید دوباره برایم بنویسید.",
        "ti": "ኣወሃሃዲ ዝርርብ ዓጽዩ። የቐንየለይ! ኣብ ዝደለኹምዎ እዋን ደጊምኩም ጸሓፉለይ።",
    },
    # A resident writes a help or language keyword while a coordinator has the conversation.
    "handoff_open": {
        "sv": "Koordinatorn har ditt ärende och svarar dig här. Skriv STOPP om du inte vill ha fler SMS.",
        "en": "The coordinator has your question and will answer you here. Write STOP to get no more SMS.",
        "ar": "المنسق لديه سؤالك وسيرد عليك هنا. اكتب توقف إذا كنت لا تريد رسائل أخرى.",
        "so": "Isku-duwaha ayaa haya su'aashaada wuxuuna halkan kugu soo jawaabi doonaa. "
              "Qor JOOJI si aadan fariimo u helin.",
        "fa": "هماهنگ‌کننده سؤال شما را دارد و همین‌جا جواب می‌دهد. برای قطع SMS توقف بنویسید.",
        "ti": "ኣወሃሃዲ ሕቶኹም ሒዙ ኣሎ፡ ኣብዚ ክምልሰልኩም እዩ። SMS ንምቁራጽ ኣቋርጽ ጸሓፉ።",
    },
    # The bot asked for a handoff the gateway could not store (an unknown hub).
    "handoff_failed": {
        "sv": "Förlåt, jag kunde inte skicka din fråga vidare just nu. Försök igen om en stund.",
        "en": "Sorry, I could not pass your question on right now. Please try again in a while.",
        "ar": "عذراً، لم أستطع إرسال سؤالك الآن. حاول مرة أخرى بعد قليل.",
        "so": "Waan ka xumahay, hadda ma gudbin karo su'aashaada. Isku day mar kale wax yar kadib.",
        "fa": "متأسفم، الان نتوانستم سؤال شما را بفرستم. کمی بعد دوباره کوشش کنید.",
        "ti": "ይቕረታ፡ ሕጂ ሕቶኹም ከመሓላልፎ ኣይከኣልኩን። ድሕሪ ቁሩብ ደጊምኩም ፈትኑ።",
    },
    # To a coordinator's phone: nothing that identifies the resident (Swedish only).
    "coordinator_alert": {
        "sv": "Hubbguiden: en ny person vill ha kontakt ({topic}, {language}). Öppna inkorgen: {url}",
    },
    # A crisis message (common/crisis.py): 112 and the right line first, before
    # anything else, also during a handoff and after an opt-out. The numbers
    # are in data/sources/crisis.yml. Each fits three SMS segments.
    "crisis_suicide": {
        "sv": "Du är inte ensam. Är ditt liv i fara nu: ring 112. Självmordslinjen svarar dygnet runt: "
              "ring 90101 eller chatta på mind.se. Jag har också sagt till personalen på hubben.",
        "en": "You are not alone. If your life is in danger now, call 112. Självmordslinjen (suicide line) "
              "answers day and night: call 90101 or chat at mind.se. I have also told the hub staff.",
        "ar": "لست وحدك. إذا كانت حياتك في خطر الآن اتصل بـ 112. خط منع الانتحار يجيب ليلاً ونهاراً: 90101 "
              "أو mind.se. أبلغت أيضاً فريق المركز.",
        "so": "Kaligaa ma tihid. Haddii noloshaadu khatar ku jirto hadda, wac 112. Självmordslinjen waxay jawaabtaa "
              "habeen iyo maalin: wac 90101 ama mind.se. Waxaan sidoo kale u sheegay shaqaalaha xarunta.",
        "fa": "شما تنها نیستید. اگر جان شما الان در خطر است به 112 زنگ بزنید. خط پیشگیری از خودکشی شب و روز: "
              "90101 یا mind.se. به کارمندان مرکز هم خبر دادم.",
        "ti": "በይንኹም ኣይኮንኩምን። ህይወትኩም ሕጂ ኣብ ሓደጋ እንተሃልያ ናብ 112 ደውሉ። መስመር ምክልኻል ነብሰ ቕትለት "
              "ለይትን መዓልትን: 90101 ወይ mind.se። ንሰራሕተኛታት ማእከል እውን ሓቢረ ኣለኹ።",
    },
    "crisis_violence": {
        "sv": "Är du i fara nu: ring 112. Kvinnofridslinjen svarar dygnet runt, gratis och med tolk: "
              "020-50 50 50. Jag har också sagt till personalen på hubben.",
        "en": "If you are in danger now, call 112. Kvinnofridslinjen (support for women) answers day and night, "
              "free and with an interpreter: 020-50 50 50. I have also told the hub staff.",
        "ar": "إذا كنت في خطر الآن اتصل بـ 112. خط Kvinnofridslinjen للنساء مجاني ومع مترجم، ليلاً ونهاراً: "
              "020-50 50 50. أبلغت أيضاً فريق المركز.",
        "so": "Haddii aad khatar ku jirto hadda, wac 112. Kvinnofridslinjen (haweenka) waa bilaash, turjumaan "
              "leh, habeen iyo maalin: 020-50 50 50. Waxaan sidoo kale u sheegay shaqaalaha xarunta.",
        "fa": "اگر الان در خطر هستید به 112 زنگ بزنید. Kvinnofridslinjen برای زنان، رایگان و با ترجمان، "
              "شب و روز: 020-50 50 50. به کارمندان مرکز هم خبر دادم.",
        "ti": "ሕጂ ኣብ ሓደጋ እንተሃሊኹም ናብ 112 ደውሉ። Kvinnofridslinjen ንደቀንስትዮ፡ ብነጻን ምስ ተርጓምን "
              "ለይትን መዓልትን: 020-50 50 50። ንሰራሕተኛታት ማእከል እውን ሓቢረ ኣለኹ።",
    },
    "crisis_child": {
        "sv": "Är ett barn i fara nu: ring 112. Barn och unga kan ringa Bris dygnet runt: 116 111. "
              "Socialjouren i Göteborg, kvällar och helger: 031-365 87 00. "
              "Jag har också sagt till personalen på hubben.",
        "en": "If a child is in danger now, call 112. Children and young people can call Bris day and night: "
              "116 111. Göteborg's social services on call, evenings and weekends: 031-365 87 00. "
              "I have also told the hub staff.",
        "ar": "إذا كان طفل في خطر الآن اتصل بـ 112. يمكن للأطفال الاتصال بـ Bris ليلاً ونهاراً: 116 111. "
              "أبلغت أيضاً فريق المركز.",
        "so": "Haddii ilmo khatar ku jiro hadda, wac 112. Carruurtu waxay wici karaan Bris habeen iyo maalin: "
              "116 111. Socialjouren Göteborg, fiidka iyo dhammaadka toddobaadka: 031-365 87 00. "
              "Waxaan sidoo kale u sheegay shaqaalaha xarunta.",
        "fa": "اگر طفلی الان در خطر است به 112 زنگ بزنید. اطفال می‌توانند شب و روز به Bris زنگ بزنند: "
              "116 111. به کارمندان مرکز هم خبر دادم.",
        "ti": "ቆልዓ ሕጂ ኣብ ሓደጋ እንተሃልዩ ናብ 112 ደውሉ። ቆልዑ ለይትን መዓልትን ናብ Bris ክድውሉ ይኽእሉ: "
              "116 111። ንሰራሕተኛታት ማእከል እውን ሓቢረ ኣለኹ።",
    },
    "crisis_medical": {
        "sv": "Är det akut: ring 112 nu. Vill du ha råd om vård: ring 1177, dygnet runt. "
              "Jag har också sagt till personalen på hubben.",
        "en": "If it is an emergency, call 112 now. For advice on care, call 1177, day and night. "
              "I have also told the hub staff.",
        "ar": "إذا كانت حالة طارئة اتصل بـ 112 الآن. للنصيحة الطبية اتصل بـ 1177 ليلاً ونهاراً. أبلغت أيضاً فريق المركز.",
        "so": "Haddii ay degdeg tahay, wac 112 hadda. Talo caafimaad: wac 1177, habeen iyo maalin. "
              "Waxaan sidoo kale u sheegay shaqaalaha xarunta.",
        "fa": "اگر حالت اضطراری است همین حالا به 112 زنگ بزنید. برای مشوره صحی به 1177 زنگ بزنید، شب و روز. "
              "به کارمندان مرکز هم خبر دادم.",
        "ti": "ህጹጽ እንተኾይኑ ሕጂ ናብ 112 ደውሉ። ንምኽሪ ሕክምና ናብ 1177 ደውሉ፡ ለይትን መዓልትን። "
              "ንሰራሕተኛታት ማእከል እውን ሓቢረ ኣለኹ።",
    },
    "crisis_shelter": {
        "sv": "Har du ingenstans att sova i natt: kontakta socialtjänsten i din kommun. Socialjouren i Göteborg, "
              "kvällar och helger: 031-365 87 00. Är du i fara: ring 112. "
              "Jag har också sagt till personalen på hubben.",
        "en": "If you have nowhere to sleep tonight, contact the social services of your municipality. "
              "Göteborg's social services on call, evenings and weekends: 031-365 87 00. If you are in danger, "
              "call 112. I have also told the hub staff.",
        "ar": "إذا لم يكن لديك مكان تنام فيه الليلة، اتصل بالخدمات الاجتماعية في بلديتك. في Göteborg مساءً "
              "وعطلة: 031-365 87 00. في الخطر: 112.",
        "so": "Haddii aadan caawa meel aad seexato haysan, la xiriir adeegga bulshada ee degmadaada. Socialjouren "
              "Göteborg, fiidka iyo dhammaadka toddobaadka: 031-365 87 00. Haddii aad khatar ku jirto, wac 112. "
              "Waxaan sidoo kale u sheegay shaqaalaha xarunta.",
        "fa": "اگر امشب جای خواب ندارید، با خدمات اجتماعی شاروالی خود تماس بگیرید. در Göteborg شب‌ها و "
              "آخر هفته: 031-365 87 00. در خطر: 112.",
        "ti": "ሎሚ ለይቲ መደቀሲ እንተዘይብልኩም ንማሕበራዊ ኣገልግሎት ምምሕዳርኩም ተወከሱ። Göteborg ምሸትን "
              "ቀዳመ-ሰንበትን: 031-365 87 00። ኣብ ሓደጋ: 112።",
    },
    # To a coordinator's phone (or the admins' when no hub is known): nothing
    # that identifies the resident, only that a crisis message waits.
    "crisis_alert": {
        "sv": "Hubbguiden: ett meddelande kan handla om en kris ({kind}, {language}). Läs det nu: {url}",
    },
    # Shown when a message is in a language the assistant does not speak; the
    # buttons (one per language) follow, numbered over SMS.
    "language_menu": {
        "sv": "Välj språk / Choose language / اختر اللغة / Dooro luqadda / زبان را انتخاب کنید / ቋንቋ ምረጹ:",
    },
    # The web chat page.
    "web_title": {"sv": "Hubbguiden", "en": "The hub guide", "ar": "دليل المركز", "so": "Hagaha xarunta",
                  "fa": "راهنمای مرکز", "ti": "መምርሒ ማእከል"},
    "web_picker_label": {"sv": "Språk", "en": "Language", "ar": "اللغة", "so": "Luqadda", "fa": "زبان",
                         "ti": "ቋንቋ"},
    "web_hint": {"sv": "Skriv din fråga…", "en": "Write your question…", "ar": "اكتب سؤالك…",
                 "so": "Qor su'aashaada…", "fa": "سؤال خود را بنویسید…", "ti": "ሕቶኹም ጸሓፉ…"},
    # The line under the page's title: what this is (the same promise as utter_greet).
    "web_intro": {
        "sv": "En chattbot som svarar på frågor om jobb, studier och att starta företag. "
              "Den kan också ge dig kontakt med en koordinator på närmaste hubb.",
        "en": "A chatbot that answers questions about work, studies and starting a business. "
              "It can also put you in touch with a coordinator at your nearest hub.",
        "ar": "روبوت محادثة يجيب عن أسئلة العمل والدراسة وبدء مشروع، ويمكنه أيضاً ربطك بمنسق في أقرب مركز.",
        "so": "Chatbot ka jawaaba su'aalaha shaqada, waxbarashada iyo bilaabista ganacsi. "
              "Wuxuu sidoo kale kuu xiriirin karaa isku-duwaha xarunta kuugu dhow.",
        "fa": "یک چت‌بات که به سؤال‌های کار، تحصیل و راه‌اندازی کسب‌وکار جواب می‌دهد "
              "و می‌تواند شما را به هماهنگ‌کننده نزدیک‌ترین مرکز وصل کند.",
        "ti": "ብዛዕባ ስራሕ፡ ትምህርቲን ንግዲ ምጅማርን ሕቶታት ዝምልስ ቻትቦት እዩ። "
              "ምስ ኣወሃሃዲ ናይ ቀረባ ማእከል ከራኽበኩም እውን ይኽእል።",
    },
    # The language picker's submit button (the page works without JavaScript).
    "web_picker_button": {"sv": "Byt språk", "en": "Change language", "ar": "تغيير اللغة",
                          "so": "Beddel luqadda", "fa": "تغییر زبان", "ti": "ቋንቋ ቀይሩ"},
    # The chat's send button, for screen readers (it shows only an icon).
    "web_send": {"sv": "Skicka", "en": "Send", "ar": "إرسال", "so": "Dir", "fa": "ارسال", "ti": "ስደዱ"},
}


def language_menu() -> tuple[str, list[dict]]:
    """The language menu's text and its buttons: each button's payload is a
    word that chooses its language (``common.languages.explicit_choice``)."""
    from common.languages import LANGUAGES

    buttons = [{"title": lang.endonym, "payload": lang.keywords[0]} for lang in LANGUAGES.values()]
    return TEXTS["language_menu"][DEFAULT_LANGUAGE], buttons


def text(key: str, language: str | None) -> str:
    variants = TEXTS[key]
    return variants.get(language or DEFAULT_LANGUAGE) or variants[DEFAULT_LANGUAGE]
